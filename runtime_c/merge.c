/* merge.c - BPE merging, shared by both encoders, in O(n log n).
 *
 * The rule is llama2.c's (and tiktoken's, with scores = -rank): of all adjacent
 * pairs whose joined bytes are a token, merge the one with the highest score, the
 * leftmost on ties; repeat until no pair joins. tokenizer.json's merges are pairs,
 * ranked: there (LLM_MERGE_PAIRS) a pair joins only if it is a merge making the
 * token, and ranks as that merge (score -rank), the `tokenizers` library's rule.
 * Rescanning every pair after each merge, as llama2.c does, is O(n^2) lookups (a
 * 32 KB prompt took 33 s on a 2-core x86 machine). Here the tokens are a doubly
 * linked list and the joinable pairs wait in a binary heap keyed by (score
 * descending, LLM_MERGE_TIES, position ascending): a merge changes only the pairs
 * on either side of it, two lookups and O(log n) heap work.
 * The list keeps the tokens' order and a merge keeps its left node, so a node's
 * index orders pairs by position: the heap's top is exactly the pair the rescan
 * picks, and the tokens come out the same.
 *
 * The nodes live in a workspace (model.h: MergeNode): the planned buffer
 * llm_state.merge_nodes, a node per slot of the prompt main() encodes, or one the
 * caller lends (llm_encode_workspace) for longer text; with LLM_NFC, past the
 * normalized text at its start (tokenizer.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "tokenizer.h"

_Static_assert(sizeof(MergeNode) == 24, "toolchain/compile/plan.py plans merge_nodes at 24 bytes a node");

static Workspace lent; /* base NULL: the planned workspace */

Workspace workspace_after(Workspace w, size_t used) {
    /* the next int32 past `used` bytes: MergeNode's and the NFC words' alignment */
    size_t skip = used + (size_t)(-(uintptr_t)(w.base + used) & (_Alignof(MergeNode) - 1));
    return skip < w.bytes ? (Workspace){w.base + skip, w.bytes - skip} : (Workspace){w.base, 0};
}

void llm_encode_workspace(void *memory, size_t bytes) {
    lent = memory == NULL ? (Workspace){NULL, 0} : workspace_after((Workspace){memory, bytes}, 0);
}

Workspace encode_workspace(void) {
    if (lent.base != NULL) return lent;
    return (Workspace){(unsigned char *)llm_state.merge_nodes, LLM_ENCODE_WORKSPACE_BYTES};
}

size_t llm_encode_workspace_size(size_t text_bytes) {
    /* LLM_NFC: the normalized text, up to 3 times as long (U+1D160 becomes three code
     * points of 4 bytes), comes first, and its pieces may be that much longer */
    const size_t growth = LLM_NFC ? 3 : 1, text = growth * text_bytes;
    /* BOS, SentencePiece's dummy-prefix space, a token per byte; then the worst start */
    return (LLM_NFC ? text + _Alignof(MergeNode) - 1 : 0) + (text + 2) * sizeof(MergeNode) +
           _Alignof(MergeNode) - 1;
}

#if LLM_EXTRA_MERGES > 0
/* The merge of a left part of `left_length` bytes making `token` in vocab.extra_merges,
 * as LLM_VOCAB_SIZE + its index; -1 if there is none. */
static int extra_merge(int token, size_t left_length) {
    const int32_t *extra = llm_weights.vocab.extra_merges; /* sorted by token, then length */
    int lo = 0, hi = LLM_EXTRA_MERGES;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (extra[2 * mid] < token || (extra[2 * mid] == token && (size_t)extra[2 * mid + 1] < left_length)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < LLM_EXTRA_MERGES && extra[2 * lo] == token && (size_t)extra[2 * lo + 1] == left_length) {
        return LLM_VOCAB_SIZE + lo;
    }
    return -1;
}
#endif

/* The merge of the pieces of `left` and `right` (MergeNode.merged), or -1. */
static int joined(int left, int right) {
    char *pair = llm_state.str_buffer; /* 2 * max_token_length + 1 bytes (image_check: no piece is longer) */
    size_t l = vocab_piece_length(left), r = vocab_piece_length(right);
    memcpy(pair, vocab_piece(left), l);
    memcpy(pair + l, vocab_piece(right), r);
    int id = vocab_lookup(pair, l + r);
#if LLM_MERGE_PAIRS
    /* tokenizer.json merges pairs: "a" + "bc" joins into "abc" but does not merge unless
     * it is the merge making "abc" (of that left part's length) or another one */
    if (id >= 0 && llm_weights.vocab.merge_splits[id] != l) {
#if LLM_EXTRA_MERGES > 0
        return extra_merge(id, l);
#else
        return -1;
#endif
    }
#endif
    return id;
}

/* The token a merge makes, and its score. */
static int merge_token(int merge) {
#if LLM_EXTRA_MERGES > 0
    if (merge >= LLM_VOCAB_SIZE) return llm_weights.vocab.extra_merges[2 * (merge - LLM_VOCAB_SIZE)];
#endif
    return merge;
}

static float merge_score(int merge) {
#if LLM_EXTRA_MERGES > 0
    if (merge >= LLM_VOCAB_SIZE) return llm_weights.vocab.extra_scores[merge - LLM_VOCAB_SIZE];
#endif
    return llm_weights.vocab.scores[merge];
}

/* The heap of joinable pairs, each named by its left node. */
typedef struct {
    MergeNode *nodes;
    int size;
} Heap;

/* Whether node a's pair is merged before node b's: higher score, then (equal scores
 * are one token's merges) as tokenizer.json orders a token's merges (LLM_MERGE_TIES),
 * then the leftmost. */
static int before(const Heap *h, int a, int b) {
    float sa = merge_score(h->nodes[a].merged), sb = merge_score(h->nodes[b].merged);
    if (sa != sb) return sa > sb;
#if LLM_MERGE_TIES == 1
    size_t la = vocab_piece_length(h->nodes[a].token), lb = vocab_piece_length(h->nodes[b].token);
    if (la != lb) return la < lb;
#elif LLM_MERGE_TIES == 2
    if (h->nodes[a].token != h->nodes[b].token) return h->nodes[a].token < h->nodes[b].token;
#endif
    return a < b;
}

static void place(Heap *h, int slot, int node) {
    h->nodes[slot].heap = node;
    h->nodes[node].slot = slot;
}

static void sift_up(Heap *h, int slot) {
    int node = h->nodes[slot].heap;
    while (slot > 0) {
        int parent = (slot - 1) / 2;
        if (!before(h, node, h->nodes[parent].heap)) break;
        place(h, slot, h->nodes[parent].heap);
        slot = parent;
    }
    place(h, slot, node);
}

static void sift_down(Heap *h, int slot) {
    int node = h->nodes[slot].heap;
    for (;;) {
        int child = 2 * slot + 1;
        if (child >= h->size) break;
        if (child + 1 < h->size && before(h, h->nodes[child + 1].heap, h->nodes[child].heap)) child++;
        if (!before(h, h->nodes[child].heap, node)) break;
        place(h, slot, h->nodes[child].heap);
        slot = child;
    }
    place(h, slot, node);
}

static void heap_remove(Heap *h, int node) {
    int slot = h->nodes[node].slot;
    if (slot < 0) return;
    h->nodes[node].slot = -1;
    int last = h->nodes[--h->size].heap;
    if (last == node) return;
    place(h, slot, last); /* the last entry fills the hole, then moves whichever way it must */
    sift_up(h, slot);
    sift_down(h, h->nodes[last].slot);
}

/* Looks up what `node` and its right neighbour now join into, and files or
 * unfiles the pair in the heap accordingly. */
static void update_pair(Heap *h, int node) {
    MergeNode *n = &h->nodes[node];
    n->merged = n->next >= 0 ? joined(n->token, h->nodes[n->next].token) : -1;
    if (n->merged < 0) {
        heap_remove(h, node);
    } else if (n->slot < 0) {
        place(h, h->size++, node);
        sift_up(h, n->slot);
    } else {
        sift_up(h, n->slot);
        sift_down(h, n->slot);
    }
}

int vocab_merge(int *tokens, int first, int n, Workspace w) {
    const int count = n - first;
    if (count < 2) return n; /* nothing to join */
    MergeNode *nodes = (MergeNode *)(void *)w.base;
    if ((size_t)count > w.bytes / sizeof(MergeNode)) return -LLM_ERR_TOO_LONG;

    Heap h = {nodes, 0};
    for (int i = 0; i < count; i++) {
        nodes[i] = (MergeNode){tokens[first + i], i - 1, i + 1 < count ? i + 1 : -1, -1, -1, -1};
    }
    for (int i = 0; i + 1 < count; i++) update_pair(&h, i);
    while (h.size > 0) {
        const int left = nodes[0].heap, right = nodes[left].next;
        heap_remove(&h, right); /* `right` leaves the list, and its pair with it */
        /* only now: a tie between a token's merges is broken by the left token, so
         * `left`'s key changes with it, and update_pair puts it back in its place */
        nodes[left].token = merge_token(nodes[left].merged);
        nodes[left].next = nodes[right].next;
        if (nodes[right].next >= 0) nodes[nodes[right].next].prev = left;
        update_pair(&h, left);
        if (nodes[left].prev >= 0) update_pair(&h, nodes[left].prev);
    }
    int out = first;
    for (int i = 0; i >= 0; i = nodes[i].next) tokens[out++] = nodes[i].token; /* node 0 is never merged away */
    return out;
}
