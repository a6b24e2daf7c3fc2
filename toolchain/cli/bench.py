"""`llmtool bench`: how fast a project decodes, against this machine's roofline, or
several projects side by side."""
import json
from pathlib import Path

import click


@click.command("bench", short_help="Time OUTDIR's build against this machine's roofline.")
@click.argument("outdirs", metavar="OUTDIR...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--threads", "-T", type=int, default=1, show_default=True)
@click.option("--reference", is_flag=True, help="Time the portable reference kernels instead.")
@click.option("--steps", type=int, default=128, show_default=True, help="Tokens to decode.")
@click.option("--count", is_flag=True,
              help="Bare metal: count instructions under QEMU (-icount) instead of timing.")
@click.option("--repeats", type=int, default=3, show_default=True,
              help="Several OUTDIRs: rounds of timing them in turn.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (several: a list).")
def command(outdirs, threads, reference, steps, count, repeats, as_json):
    """Time processing a prompt of about 128 tokens (and the wait for the first
    token after it) and decoding of OUTDIR's build (natively for host,
    under QEMU otherwise, where the speeds are the emulator's), and compare decode
    with the roofline: this machine's single-core read bandwidth, measured in the
    same run, over the weight bytes one token streams (with --threads N, also the
    bandwidth of N cores reading together). With --count (Cortex-M
    boards), count instructions deterministically instead: per MAC of a 1024 x 1024
    matrix-vector product (smaller where the board's memory is), and per generated token.

    Several OUTDIRs (one model compiled with --quant q8, q4, q5, ...) are timed in
    turn for --repeats rounds and reported side by side, medians, each against the
    first q8 one (else the first) in the same round:

      llmtool bench out-q8/ out-q4/ out-q6/"""
    if len(outdirs) > 1:
        side_by_side(outdirs, threads, reference, steps, count, repeats, as_json)
        return
    outdir = outdirs[0]
    from ..host.bench import bench, count_instructions

    if count:
        c = count_instructions(outdir, reference)
        if as_json:
            click.echo(json.dumps(c, indent=2))
        else:
            click.echo(f"{c['board']} ({c['kernels']} kernels), instructions counted under QEMU:")
            n = c["matvec"]
            click.echo(f"  {n} x {n} {c['matvec_format']} matrix-vector product: {c['instructions_per_mac']:.2f} per MAC, "
                       f"{c['batch_instructions_per_mac']:.2f} for {c['counted_batch']} tokens at once")
            click.echo(f"  generation: {c['instructions_per_token']:,} per token over {c['positions']} positions, "
                       f"{c['tok_s_at_clock']:.1f} tok/s at {c['clock_mhz']} MHz if one per cycle")
            click.echo(f"  a prompt of {c['prompt_tokens']} tokens: {c['instructions_per_prompt_token']:,} per token "
                       f"(batches of {c['batch']})")
        return
    r = bench(outdir, threads, reference, steps)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    click.echo(f"{r['board']} ({r['kernels']} kernels, {r['threads']} thread{'s' * (r['threads'] > 1)})"
               + (" under emulation" if r["emulated"] else ""))
    click.echo(f"  prompt  {r['prompt_tok_s']:10.1f} tok/s   {r['prompt_tokens']} tokens, first token after "
               f"{r['first_token_ms']:.1f} ms")
    cores = f", {r['percent_of_threads_roofline']:.0f} % of the {r['threads']}-core one" if r["threads"] > 1 else ""
    click.echo(f"  decode  {r['decode_tok_s']:10.1f} tok/s   {r['percent_of_roofline']:.0f} % of the roofline{cores}")
    click.echo(f"  roofline {r['roofline_tok_s']:9.1f} tok/s = {r['read_bw_gb_s']:.1f} GB/s read bandwidth / "
               f"{r['weight_bytes_per_token'] / 1e6:.1f} MB of weights per token")
    if r["threads"] > 1:
        click.echo(f"  {r['threads']} cores reading together: {r['threads_read_bw_gb_s']:.1f} GB/s, "
                   f"the {r['threads']}-core roofline {r['threads_roofline_tok_s']:.1f} tok/s")


def side_by_side(outdirs, threads, reference, steps, count, repeats, as_json):
    from ..host.bench import base_index, compare, compare_counts

    rows = compare_counts(outdirs, reference) if count else compare(outdirs, threads, reference, steps, repeats)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    base = rows[base_index(outdirs)]
    if count:
        vs = f"vs {base['matvec_format']}"
        click.echo("instructions counted under QEMU:")
        batch_mac = f"{base['counted_batch']} tokens"
        click.echo(f"  {'board':<12} {'kernels':<10} {'format':<6} {'per MAC':>8} {vs:>7} {batch_mac:>8} {vs:>7} "
                   f"{'per token':>11} {vs:>7} {'batch':>5} {'per prompt token':>16} {vs:>7}  project")
        for c in rows:
            click.echo(f"  {c['board']:<12} {c['kernels']:<10} {c['matvec_format']:<6} {c['instructions_per_mac']:8.3f} "
                       f"{c['mac_vs_base']:7.2f} {c['batch_instructions_per_mac']:8.3f} {c['batch_mac_vs_base']:7.2f} "
                       f"{c['instructions_per_token']:11,} {c['token_vs_base']:7.2f} "
                       f"{c['batch']:5} {c['instructions_per_prompt_token']:16,} {c['prompt_token_vs_base']:7.2f}  "
                       f"{c['project']}")
        return
    vs = f"vs {base['quant']}"
    click.echo(f"medians of {repeats} rounds, {threads} thread{'s' * (threads > 1)}:")
    click.echo(f"  {'board':<12} {'kernels':<12} {'format':<6} {'weights/token':>13} {'prompt tok/s':>12} "
               f"{'decode tok/s':>12} {vs:>7}  project")
    for r in rows:
        click.echo(f"  {r['board']:<12} {r['kernels']:<12} {r['quant']:<6} {r['weight_bytes_per_token'] / 1e6:10.1f} MB "
                   f"{r['prompt_tok_s']:12.1f} {r['decode_tok_s']:12.1f} {r['decode_vs_base']:7.2f}  {r['project']}")
