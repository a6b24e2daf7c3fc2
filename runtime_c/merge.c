/* merge.c - BPE merging, shared by both encoders, in O(n log n).
 *
 * The rule is llama2.c's (and tiktoken's, with scores = -rank): of all adjacent
 * pairs whose joined bytes are a token, merge the one with the highest score, the
 * leftmost on ties; repeat until no pair joins. tokenizer.json's merges are pairs,
 * ranked: there (LLM_MERGE_PAIRS) a pair joins only if it is the merge making the
 * token, whose score is -rank, which is the `tokenizers` library's rule. Rescanning every pair after each
 * merge, as llama2.c does, is O(n^2) lookups (a 32 KB prompt took 33 s on a
 * 2-core x86 machine). Here the tokens are a doubly linked list and the joinable
 * pairs wait in a binary heap keyed by (score descending, position ascending): a
 * merge changes only the pairs on either side of it, two lookups and O(log n)
 * heap work.
 * The list keeps the tokens' order and a merge keeps its left node, so a node's
 * index orders pairs by position: the heap's top is exactly the pair the rescan
 * picks, and the tokens come out the same.
 *
 * The nodes live in a workspace (model.h: MergeNode): the planned buffer
 * llm_state.merge_nodes, a node per slot of the prompt main() encodes, or one the
 * caller lends (llm_encode_workspace) for longer text. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "tokenizer.h"

_Static_assert(sizeof(MergeNode) == 24, "toolchain/compile/plan.py plans merge_nodes at 24 bytes a node");

static MergeNode *lent_nodes; /* NULL: the planned workspace */
static size_t lent_count;

void llm_encode_workspace(void *memory, size_t bytes) {
    if (memory == NULL) {
        lent_nodes = NULL;
        lent_count = 0;
        return;
    }
    /* the caller's bytes may start anywhere: the nodes start at the next int32 */
    size_t skip = (size_t)(-(uintptr_t)memory & (_Alignof(MergeNode) - 1));
    lent_nodes = (MergeNode *)(void *)((char *)memory + (bytes < skip ? bytes : skip));
    lent_count = bytes < skip ? 0 : (bytes - skip) / sizeof(MergeNode);
}

size_t llm_encode_workspace_size(size_t text_bytes) {
    /* BOS, SentencePiece's dummy-prefix space, a token per byte; then the worst start */
    return (text_bytes + 2) * sizeof(MergeNode) + _Alignof(MergeNode) - 1;
}

/* The token the pieces of `left` and `right` join into, or -1. */
static int joined(int left, int right) {
    char *pair = llm_state.str_buffer; /* 2 * max_token_length + 1 bytes (image_check: no piece is longer) */
    size_t l = vocab_piece_length(left), r = vocab_piece_length(right);
    memcpy(pair, vocab_piece(left), l);
    memcpy(pair + l, vocab_piece(right), r);
    int id = vocab_lookup(pair, l + r);
#if LLM_MERGE_PAIRS
    /* tokenizer.json merges pairs: "a" + "bc" does not merge when "abc" is made of "ab" + "c" */
    if (id >= 0 && llm_weights.vocab.merge_splits[id] != l) return -1;
#endif
    return id;
}

/* The heap of joinable pairs, each named by its left node. */
typedef struct {
    MergeNode *nodes;
    const float *scores;
    int size;
} Heap;

/* Whether node a's pair is merged before node b's: higher score, then (where
 * LLM_MERGE_TIES_SHORTER_LEFT: tokenizer.json's order of one token's merges) the
 * shorter left part, then leftmost. */
static int before(const Heap *h, int a, int b) {
    float sa = h->scores[h->nodes[a].merged], sb = h->scores[h->nodes[b].merged];
    if (sa != sb) return sa > sb;
#if LLM_MERGE_TIES_SHORTER_LEFT
    size_t la = vocab_piece_length(h->nodes[a].token), lb = vocab_piece_length(h->nodes[b].token);
    if (la != lb) return la < lb;
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

int vocab_merge(int *tokens, int first, int n) {
    const int count = n - first;
    if (count < 2) return n; /* nothing to join */
    MergeNode *nodes = lent_nodes != NULL ? lent_nodes : llm_state.merge_nodes;
    size_t capacity = lent_nodes != NULL ? lent_count : LLM_PROMPT_CAPACITY;
    if ((size_t)count > capacity) return -LLM_ERR_TOO_LONG;

    Heap h = {nodes, llm_weights.vocab.scores, 0};
    for (int i = 0; i < count; i++) {
        nodes[i] = (MergeNode){tokens[first + i], i - 1, i + 1 < count ? i + 1 : -1, -1, -1, -1};
    }
    for (int i = 0; i + 1 < count; i++) update_pair(&h, i);
    while (h.size > 0) {
        const int left = nodes[0].heap, right = nodes[left].next;
        nodes[left].token = nodes[left].merged;
        heap_remove(&h, right); /* `right` leaves the list, and its pair with it */
        nodes[left].next = nodes[right].next;
        if (nodes[right].next >= 0) nodes[nodes[right].next].prev = left;
        update_pair(&h, left);
        if (nodes[left].prev >= 0) update_pair(&h, nodes[left].prev);
    }
    int out = first;
    for (int i = 0; i >= 0; i = nodes[i].next) tokens[out++] = nodes[i].token; /* node 0 is never merged away */
    return out;
}
