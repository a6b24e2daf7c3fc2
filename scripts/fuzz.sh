#!/usr/bin/env bash
# Fuzzes a generated project's C runtime with libFuzzer under AddressSanitizer and
# UBSan (harnesses in tests/fuzz/): the tokenizer encoder and decoder, BPE merging
# against the quadratic merge it replaced and the chat template through llm.h, for
# stories260K's SentencePiece vocabulary and for Llama 3's tiktoken one; the encoder
# and the chat template for a Qwen2-style tokenizer.json (NFC normalizer); the Linux
# command lines of the program (main.c) and of the test program (llm_test.c: -x, -k);
# the weight image check on mutated copies of a real image; and the
# sampling parameters. Compiles the projects for board host into a work directory,
# builds each harness against its project's sources, runs it, and prints each
# harness's executions and findings. A finding's input is kept in the work directory
# with the command that replays it.
#
# Usage: scripts/fuzz.sh [--time SECONDS] [--runs N] [--workdir DIR] [HARNESS...]
#   --time     seconds per harness (default 60 when --runs is not given)
#   --runs     inputs per harness
#   --workdir  build and keep everything there (default: a temporary directory,
#              removed afterwards unless something was found)
#   HARNESS    encode, decode, chat, merge, cmdline, cmdline-test, image, sample,
#              encode-llama3, decode-llama3, chat-llama3, merge-llama3, encode-qwen,
#              chat-qwen (default: all)
# Exit status: 0 when no harness found anything, 1 on a finding or an error.
set -euo pipefail

die() {
    echo "error: $*" >&2
    exit 1
}

here="${BASH_SOURCE[0]}"
[[ $here == */* ]] || here="./$here"
ROOT="$(cd "${here%/*}/.." && pwd)"
MODELS="${LLMTOOL_MODELS:-$ROOT/../shared/models}"
FUZZ="$ROOT/tests/fuzz"
ALL_HARNESSES=(encode decode chat merge cmdline cmdline-test image sample encode-llama3 decode-llama3 chat-llama3
               merge-llama3 encode-qwen chat-qwen)

TIME="" RUNS="" WORK="" HARNESSES=()
while [ $# -gt 0 ]; do
    case "$1" in
    --time) [[ ${2-} =~ ^[0-9]+$ ]] || die "--time takes a number of seconds"; TIME=$2; shift 2 ;;
    --runs) [[ ${2-} =~ ^[0-9]+$ ]] || die "--runs takes a number of inputs"; RUNS=$2; shift 2 ;;
    --workdir) [ -n "${2-}" ] || die "--workdir takes a directory"; WORK=$2; shift 2 ;;
    encode | decode | chat | merge | cmdline | cmdline-test | image | sample | encode-llama3 | decode-llama3 | \
        chat-llama3 | merge-llama3 | encode-qwen | chat-qwen) HARNESSES+=("$1"); shift ;;
    *) die "unknown argument '$1' (usage: scripts/fuzz.sh [--time SECONDS] [--runs N] [--workdir DIR] [${ALL_HARNESSES[*]}])" ;;
    esac
done
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${ALL_HARNESSES[@]}")
[ -n "$TIME$RUNS" ] || TIME=60

command -v clang >/dev/null ||
    die "clang not found: install the Debian packages clang and libclang-rt-dev (apt-get install clang libclang-rt-dev, or run scripts/setup.sh)"
for model in stories260K.bin tok512.bin llama3-tokenizer.model; do
    [ -f "$MODELS/$model" ] || die "test model missing: $MODELS/$model (set LLMTOOL_MODELS to the directory that has it)"
done

if [ -z "$WORK" ]; then
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/llmtool-fuzz.XXXXXX")"
    trap '[ -f "$WORK/.found" ] || rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK/bin" "$WORK/findings"
WORK="$(cd "$WORK" && pwd)"

SANITIZE=(-fsanitize=address,undefined -fno-sanitize-recover=all)
CFLAGS=(-std=c11 -Wall -Wextra -Werror -O1 -g -ffp-contract=off -fno-strict-aliasing -fno-math-errno
        -DLLM_SINGLE_THREAD "${SANITIZE[@]}")

echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
    clang -x c - -fsanitize=fuzzer "${SANITIZE[@]}" -o "$WORK/bin/probe" 2>/dev/null ||
    die "clang cannot link libFuzzer (-fsanitize=fuzzer): install the Debian package libclang-rt-dev"

# The projects. stories260K gets a small context, which bounds what one command line
# can make main.c or llm_test.c run; llama3 and qwen are the smallest models around
# their tokenizers (only the tokenizer is fuzzed there): Llama 3's 128,256-token
# vocabulary, and a byte-level BPE of a few thousand tokens in Qwen2's tokenizer.json
# pipeline (its pattern and NFC normalizer, ChatML's special tokens and Qwen2.5's chat
# template), trained here as the tests train it (tests/trained_tokenizers.py). qwen's
# context lets the fuzzer's texts reach the end of the planned encoder workspace, which
# with NFC holds the normalized text too.
compile_project() { # compile_project NAME
    local out="$WORK/$1"
    [ ! -f "$out/plan.json" ] || return 0
    case "$1" in
    stories260K)
        (cd "$ROOT" && python3 -m toolchain compile "$MODELS/stories260K.bin" --tokenizer "$MODELS/tok512.bin" \
            --board host --context 8 --force -o "$out") >/dev/null ;;
    llama3) compile_tiny "$MODELS/llama3-tokenizer.model" 8 "$out" ;;
    qwen)
        rm -rf "$WORK/qwen-tokenizer"
        (cd "$ROOT" && python3 - "$WORK/qwen-tokenizer") <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from chat_templates import QWEN25
from trained_tokenizers import BYTE_LEVEL, model_directory
model_directory(BYTE_LEVEL["qwen2"](), QWEN25, None, "<|im_end|>", Path(sys.argv[1]))
PY
        compile_tiny "$WORK/qwen-tokenizer" 32 "$out" ;;
    esac
}

compile_tiny() { # compile_tiny TOKENIZER CONTEXT OUT: a tiny random model with the tokenizer's vocabulary
    (cd "$ROOT" && python3 - "$@") <<'PY'
import sys
from pathlib import Path
from toolchain.compile.compiler import compile_project
from toolchain.config import ModelConfig, random_model
from toolchain.importers.tokenizer import load_tokenizer
tok = load_tokenizer(sys.argv[1])
config = ModelConfig(dim=16, n_layers=1, n_heads=2, n_kv_heads=2, vocab_size=tok.vocab_size,
                     hidden_dim=32, max_seq_len=int(sys.argv[2]))
compile_project(random_model(config), tok, "host", sys.argv[3], quant="f32", model_name=Path(sys.argv[1]).stem)
PY
}

make_var() { # make_var PROJECT VARIABLE: the value of a variable of the project's Makefile
    make -s -C "$1" --no-print-directory --eval='print-%: ; @echo $($*)' "print-$2"
}

# A project's runtime, once per project, sanitized, in $WORK/NAME/fuzz/; main.c and
# llm_test.c with main renamed for fuzz_cmdline.c, which stands in for platform/linux.c. The arithmetic (kernels, the image's checksum) gets no coverage
# instrumentation: its branches tell the fuzzer nothing about the input, and
# instrumented it makes every llm_init and forward pass many times slower.
# fuzz_plan.h there: the main arena and the buffers live while encoding (fuzz_encode.c).
prepare() { # prepare NAME
    local project="$WORK/$1" dir="$WORK/$1/fuzz"
    [ ! -f "$dir/done" ] || return 0
    compile_project "$1"
    mkdir -p "$dir"
    python3 - "$project/plan.json" >"$dir/fuzz_plan.h" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
arena = plan["arenas"][0]
x = next(b for b in arena["buffers"] if b["name"] == "x")
live = [b for b in arena["buffers"] if "encode" in b["phases"]]
print("/* generated by scripts/fuzz.sh from plan.json */")
print(f"#define FUZZ_ARENA_BYTES {arena['bytes']}")
print(f"#define FUZZ_ARENA_BASE ((unsigned char *)llm_state.x - {x['offset']})")
print("static const struct { unsigned offset, bytes; } fuzz_encode_live[] = {")
print("".join(f"    {{{b['offset']}, {b['nbytes']}}}, /* {b['name']} */\n" for b in live) + "};")
PY
    local kernels sources src coverage defines
    read -r -a kernels <<<"$(make_var "$project" KERNELS)"
    read -r -a sources <<<"$(make_var "$project" RUNTIME) $(make_var "$project" TEST_RUNTIME) \
        $(make_var "$project" GENERATED) $(make_var "$project" PLATFORM) main.c llm_test.c"
    local key object
    mkdir -p "$WORK/shared"
    for src in "${sources[@]}"; do
        [ "$src" != runtime/platform/linux.c ] || continue
        case "$src" in runtime/kernels/* | runtime/crc32.c) coverage=() ;; *) coverage=(-fsanitize=fuzzer-no-link) ;; esac
        case "$src" in main.c | llm_test.c) defines=(-Dmain=llm_main) ;; *) defines=() ;; esac
        object="$dir/${src//\//_}.o"
        if [[ $src == runtime/kernels/* ]]; then
            # a kernel is the same C whatever the project (no llm_config.h): compiled once
            # for every project of the same flags, and at -O0: sanitized at -O1, an AVX-512
            # k-quant twin takes over a minute to compile (at -O0 two seconds)
            key=$(cat "$project/$src" <(echo "${kernels[*]}") | sha1sum | cut -c1-16)
            [ -f "$WORK/shared/$key.o" ] || (cd "$project" && clang "${CFLAGS[@]}" -O0 "${kernels[@]}" \
                -I. -Iruntime -c "$src" -o "$WORK/shared/$key.o")
            cp "$WORK/shared/$key.o" "$object"
        else
            (cd "$project" && clang "${CFLAGS[@]}" "${kernels[@]}" "${defines[@]}" "${coverage[@]}" \
                -I. -Iruntime -c "$src" -o "$object")
        fi
    done
    touch "$dir/done"
}

build() { # build HARNESS PROJECT: $WORK/bin/fuzz_HARNESS-PROJECT from tests/fuzz/fuzz_HARNESS.c
    local harness=$1 project=$2 dir="$WORK/$2/fuzz" objects=() extra=() obj
    prepare "$project"
    for obj in "$dir"/*.o; do # main.c, llm_test.c and their helpers only for the command lines' harnesses
        case "${obj##*/}" in
        main.c.o) [ "$harness" = cmdline ] || continue ;;
        llm_test.c.o) [ "$harness" = cmdline-test ] || continue ;;
        runtime_platform_cli.c.o) [[ $harness == cmdline* ]] || continue ;;
        esac
        objects+=("$obj")
    done
    [ "$harness" != merge ] || extra=("$ROOT/tests/c/merge_reference.c") # the merge it is held to
    clang "${CFLAGS[@]}" -fsanitize=fuzzer -I"$WORK/$project" -I"$WORK/$project/runtime" -I"$dir" \
        "$FUZZ/fuzz_${harness%-test}.c" "${extra[@]}" "${objects[@]}" -lm -o "$WORK/bin/fuzz_$harness-$project"
}

seed() { # seed NAME BYTES...: one starting input per printf format
    local name=$1 i
    shift
    mkdir -p "$WORK/corpus/$name"
    for i in $(seq $#); do
        printf -- "${!i}" >"$WORK/corpus/$name/seed$i"
    done
}

seed_args() { # seed_args NAME FILE STDIN ARG...: what fuzz_cmdline.c reads: stdin's length, stdin, the arguments
    local name=$1 file=$2 input=$3
    shift 3
    mkdir -p "$WORK/corpus/$name"
    {
        printf "\\x$(printf %02x "$(printf '%s' "$input" | wc -c)")"
        printf '%s' "$input"
        [ $# -eq 0 ] || printf '%s' "$1"
        [ $# -lt 2 ] || printf '\0%s' "${@:2}"
    } >"$WORK/corpus/$name/$file"
}

found=0
run() { # run NAME BINARY MAX_LEN [libFuzzer options...]
    local name=$1 binary=$2 max_len=$3 log="$WORK/fuzz_$1.log"
    shift 3
    local options=(-max_len="$max_len" -timeout=20 -print_final_stats=1
                   -artifact_prefix="$WORK/findings/$name-" "$@")
    [ -z "$TIME" ] || options+=(-max_total_time="$TIME")
    [ -z "$RUNS" ] || options+=(-runs="$RUNS")
    local start=$SECONDS
    "$binary" "${options[@]}" "$WORK/corpus/$name" >"$log" 2>&1 || true
    local seconds=$((SECONDS - start))
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    local artifacts=("$WORK/findings/$name"-{crash,leak,timeout,oom}-*)
    local n=0 artifact
    for artifact in "${artifacts[@]}"; do [ -e "$artifact" ] && n=$((n + 1)); done
    printf '%-14s %12s executions in %5d s, %d findings\n' "$name" "${execs:-?}" "$seconds" "$n"
    if [ "$n" -gt 0 ]; then
        found=1
        touch "$WORK/.found"
        grep -m 1 -E 'ERROR: |runtime error|property violated|deadly signal' "$log" | sed 's/^/    /' || true
        for artifact in "${artifacts[@]}"; do # (an `[ ] &&` last would fail the function, and set -e end the script)
            if [ -e "$artifact" ]; then echo "    replay: $binary $artifact   (log: $log)"; fi
        done
    elif [ -z "$execs" ]; then
        die "$binary did not run: see $log"
    fi
}

echo "fuzzing in $WORK with $(clang --version | head -n 1)"
for name in "${HARNESSES[@]}"; do
    case "$name" in
    *-llama3 | *-qwen) harness=${name%-*} project=${name##*-} ;;
    *) harness=$name project=stories260K ;;
    esac
    build "$harness" "$project"
    binary="$WORK/bin/fuzz_$harness-$project"
    case "$harness" in
    encode)
        # plain text and special tokens; then text not in NFC: NFD (accents, Vietnamese's
        # stacked ones, Hangul as jamo), marks out of canonical order, U+0344 and U+1D160
        # (NFC makes them longer), U+212B, '>' U+0338 after a special token's '>', a long
        # run of marks, and marks after bytes that are not UTF-8
        seed "$name" '\x01Once upon a time' '\x03hello\nworld \xe2\x80\x94 \xf0\x9f\x98\x80' '\x02\x80\xbf\xff' \
            '\xfd abc' '\x01<|begin_of_text|>Hi<|eot_id|> 123 '"'"'s' '\x01cafe\xcc\x81 nai\xcc\x88ve a\xcc\x81\xcc\x96' \
            '\x10Tie\xcc\x82\xcc\x81ng Vie\xcc\xa3\xcc\x82t \xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab\xea\xb0\x80\xe1\x86\xa8' \
            '\x03x\xcd\x84\xcd\x84 \xf0\x9d\x85\xa0\xe2\x84\xab' '\x11<|im_start|>user\n>\xcc\xb8<|im_end|>\xcc\xb8' \
            "\\x14e$(printf '\\xcc\\x81\\xcc\\x96%.0s' $(seq 40))" '\x00\xc0\x80e\xcc\x81\xed\xa0\x80e\xff\xcc\x81'
        run "$name" "$binary" 256 ;;
    decode)
        seed "$name" '\x01\x00\x00\x00\x0f\x00\x00\x00' '\x05\x00\x00\x00\xff\x01\x00\x00' \
            '\x01\x00\x00\x00\x00\x02\x00\x00\xff\xff\xff\xff\x03\x00\x00\x00' '\x00\xf4\x01\x00\xff\xf4\x01\x00'
        run "$name" "$binary" 64 ;;
    chat)
        seed "$name" '\x01Be brief.\x00Hello there!' '\x00  What next?  ' '\x31\x00\t' '\xff<|eot_id|>\x00[INST] hi [/INST]' \
            '\x11Be brie\xcc\x81f.\x00Tie\xcc\x82\xcc\x81ng \xe1\x84\x92\xe1\x85\xa1 \xcd\x84<|im_end|>\xcc\xb8'
        run "$name" "$binary" 256 ;;
    merge)
        # text's bytes from any start, in the planned workspace and a lent one; ties
        # (a letter repeated); ids of the whole vocabulary
        seed "$name" '\x01Once upon a time, there was a cat.' '\x09 the little dog ran and ran' '\x0baaaaaaaaaaaaaaaa' \
            '\x0d   \n\n   !!!! 1234567' '\x07caf\xc3\xa9 \xe2\x80\x94 \xff\xfe' '\x08\x01\x00\x13\x01\xff\xff\x00\x02'
        run "$name" "$binary" 300 ;;
    image)
        # the real image as it is, with its CRC to be fixed up, cut short and appended to
        image="$WORK/$project/llm_image.bin"
        bytes=$(wc -c <"$image")
        mkdir -p "$WORK/corpus/$name"
        { printf '\x00'; cat "$image"; } >"$WORK/corpus/$name/real"
        { printf '\x01'; cat "$image"; } >"$WORK/corpus/$name/crc-fixed"
        { printf '\x01'; head -c $((bytes / 2)) "$image"; } >"$WORK/corpus/$name/cut"
        { printf '\x00'; cat "$image"; printf 'more'; } >"$WORK/corpus/$name/appended"
        run "$name" "$binary" $((bytes + 64)) ;;
    sample)
        # temperature, top-p, seed, steps: 1 and 0.9; greedy; NaN temperature; infinite
        # top-p; a subnormal temperature; seed 0; then prompt ids and logits
        seed "$name" '\x00\x00\x80\x3f\x66\x66\x66\x3f\x07\x00\x00\x00\x00\x00\x00\x00\x25\x01\x00\x10\x00' \
            '\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x07' \
            '\x00\x00\xc0\x7f\x66\x66\x66\x3f\x07\x00\x00\x00\x00\x00\x00\x00\x03' \
            '\x00\x00\x80\x3f\x00\x00\x80\x7f\x07\x00\x00\x00\x00\x00\x00\x00\x13\x00\x00\x80\x7f\xff\xff\x7f\xff' \
            '\x01\x00\x00\x00\x00\x00\x00\x3f\x09\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\xc0\x7f\x00\x00\x80\xff' \
            '\x00\x00\x80\x3f\x66\x66\x66\x3f\x00\x00\x00\x00\x00\x00\x00\x00\x02'
        run "$name" "$binary" 2200 ;;
    cmdline)
        seed_args "$name" none ''
        seed_args "$name" prompt '' -i "Once upon a time" -n 5 -t 0.5
        seed_args "$name" sampling '' -T 2 -s 42 -p 0.9 -t 1
        seed_args "$name" greedy '' -n 0 -t 0
        seed_args "$name" chat $'hello\nhow are you\n' -m chat -y "Be brief." -t 0
        # an input that found a bug: a top-p nucleus left empty
        seed_args "$name" uniform '' -t 9999999999 -p 0.001
        run "$name" "$binary" 128 -dict="$FUZZ/cmdline.dict" ;;
    cmdline-test)
        seed_args "$name" none ''
        seed_args "$name" forced '' -x "1 2 3 4"
        seed_args "$name" threads '' -x "1 5" -T 2
        seed_args "$name" selftest '' -k 7
        # an input that found a bug: an -x id that overflowed
        seed_args "$name" overflow '' -x "1 99999999999999999999"
        run "$name" "$binary" 128 -dict="$FUZZ/cmdline.dict" ;;
    esac
done
[ "$found" -eq 0 ] || echo "findings kept in $WORK/findings"
exit "$found"
