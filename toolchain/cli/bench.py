"""`llmtool bench`: how fast a project decodes, against this machine's roofline."""
import json
from pathlib import Path

import click


@click.command("bench", short_help="Time OUTDIR's build against this machine's roofline.")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--threads", "-T", type=int, default=1, show_default=True)
@click.option("--reference", is_flag=True, help="Time the portable reference kernels instead.")
@click.option("--steps", type=int, default=128, show_default=True, help="Tokens to decode.")
@click.option("--count", is_flag=True,
              help="Bare metal: count instructions under QEMU (-icount) instead of timing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(outdir, threads, reference, steps, count, as_json):
    """Time prompt processing and decoding of OUTDIR's build (natively for host,
    under QEMU otherwise, where the speeds are the emulator's), and compare decode
    with the roofline: this machine's single-core read bandwidth, measured in the
    same run, over the weight bytes one token streams (with --threads N, also the
    bandwidth of N cores reading together). With --count (Cortex-M
    boards), count instructions deterministically instead: per MAC of a 1024 x 1024
    matrix-vector product (smaller where the board's memory is), and per generated token."""
    from ..host.bench import bench, count_instructions

    if count:
        c = count_instructions(outdir, reference)
        if as_json:
            click.echo(json.dumps(c, indent=2))
        else:
            click.echo(f"{c['board']} ({c['kernels']} kernels), instructions counted under QEMU:")
            n = c["matvec"]
            click.echo(f"  {n} x {n} {c['matvec_format']} matrix-vector product: {c['instructions_per_mac']:.2f} per MAC")
            click.echo(f"  generation: {c['instructions_per_token']:,} per token over {c['positions']} positions, "
                       f"{c['tok_s_at_clock']:.1f} tok/s at {c['clock_mhz']} MHz if one per cycle")
        return
    r = bench(outdir, threads, reference, steps)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    click.echo(f"{r['board']} ({r['kernels']} kernels, {r['threads']} thread{'s' * (r['threads'] > 1)})"
               + (" under emulation" if r["emulated"] else ""))
    click.echo(f"  prompt  {r['prompt_tok_s']:10.1f} tok/s")
    cores = f", {r['percent_of_threads_roofline']:.0f} % of the {r['threads']}-core one" if r["threads"] > 1 else ""
    click.echo(f"  decode  {r['decode_tok_s']:10.1f} tok/s   {r['percent_of_roofline']:.0f} % of the roofline{cores}")
    click.echo(f"  roofline {r['roofline_tok_s']:9.1f} tok/s = {r['read_bw_gb_s']:.1f} GB/s read bandwidth / "
               f"{r['weight_bytes_per_token'] / 1e6:.1f} MB of weights per token")
    if r["threads"] > 1:
        click.echo(f"  {r['threads']} cores reading together: {r['threads_read_bw_gb_s']:.1f} GB/s, "
                   f"the {r['threads']}-core roofline {r['threads_roofline_tok_s']:.1f} tok/s")
