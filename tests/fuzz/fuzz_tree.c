/*
 * fuzz_tree.c - the tree blob codec (treeDecode) on plaintext.
 *
 * The sealed form is a blob in a pack (fuzz_pack, repoDecodeBlob). What
 * decodes must encode to canonical JSON that decodes again and encodes to
 * the same bytes, with every name still safe.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "snapshot/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Tree tree = {0};
    LbError err = {0};
    if (treeDecode(data, size, &tree, &err)) {
        for (size_t i = 0; i < tree.count; i++) {
            if (!treeNameIsSafe(tree.nodes[i].name) || treeFind(&tree, tree.nodes[i].name) != &tree.nodes[i])
                abort();
        }
        LbBuf once = {0}, twice = {0};
        treeEncode(&tree, &once);
        Tree again = {0};
        if (!treeDecode(once.data, once.len, &again, &err))
            abort(); /* the encoder wrote what the decoder refuses */
        treeEncode(&again, &twice);
        if (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0)
            abort();
        treeFree(&again);
        lbBufFree(&once);
        lbBufFree(&twice);
    }
    treeFree(&tree);
    return 0;
}
