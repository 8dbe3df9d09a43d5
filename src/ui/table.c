/* table.c - human tables sized to their content (see table.h). */
#include "ui/table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

typedef struct UiColumn {
    char *header;
    UiAlign align;
    size_t width;
} UiColumn;

struct UiTable {
    UiColumn *cols;
    size_t colCount;
    char **cells; /* row-major */
    size_t cellCount, cellCap;
    bool showHeader;
};

/* Display width: UTF-8 continuation bytes do not count. */
static size_t textWidth(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

UiTable *uiTableNew(void) {
    UiTable *t = lbXcalloc(1, sizeof(UiTable));
    t->showHeader = true;
    return t;
}

void uiTableFree(UiTable *t) {
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->colCount; i++)
        free(t->cols[i].header);
    for (size_t i = 0; i < t->cellCount; i++)
        free(t->cells[i]);
    free(t->cols);
    free(t->cells);
    free(t);
}

void uiTableColumn(UiTable *t, const char *header, UiAlign align) {
    t->cols = lbXrealloc(t->cols, (t->colCount + 1) * sizeof(UiColumn));
    t->cols[t->colCount++] = (UiColumn){lbXstrdup(header ? header : ""), align, textWidth(header ? header : "")};
}

void uiTableSetHeader(UiTable *t, bool show) {
    t->showHeader = show;
}

void uiTableCell(UiTable *t, const char *text) {
    if (t->colCount == 0)
        uiTableColumn(t, "", UI_ALIGN_LEFT);
    if (t->cellCount == t->cellCap) {
        t->cellCap = t->cellCap ? t->cellCap * 2 : 16;
        t->cells = lbXrealloc(t->cells, t->cellCap * sizeof(char *));
    }
    /* names from snapshots and the file system never drive the terminal */
    t->cells[t->cellCount] = lbPrintableDup(text);
    UiColumn *c = &t->cols[t->cellCount % t->colCount];
    size_t w = textWidth(t->cells[t->cellCount++]);
    if (w > c->width)
        c->width = w;
}

void uiTableCellf(UiTable *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = lbXvasprintf(fmt, ap);
    va_end(ap);
    uiTableCell(t, s);
    free(s);
}

size_t uiTableRowCount(const UiTable *t) {
    return t->colCount ? (t->cellCount + t->colCount - 1) / t->colCount : 0;
}

/* One row: cells[i] for each column (NULL past the end). Trailing blanks of
 * the last printed cell are not written. */
static void printRow(const UiTable *t, char *const *cells, size_t have, FILE *out) {
    LbBuf line = {0};
    for (size_t i = 0; i < t->colCount; i++) {
        const char *s = i < have ? cells[i] : "";
        size_t pad = t->cols[i].width - textWidth(s);
        bool last = i + 1 == t->colCount;
        if (i > 0)
            lbBufAppendStr(&line, "  ");
        for (size_t k = 0; t->cols[i].align == UI_ALIGN_RIGHT && k < pad; k++)
            lbBufAppendStr(&line, " ");
        lbBufAppendStr(&line, s);
        for (size_t k = 0; t->cols[i].align == UI_ALIGN_LEFT && !last && k < pad; k++)
            lbBufAppendStr(&line, " ");
    }
    while (line.len > 0 && line.data[line.len - 1] == ' ')
        line.len--;
    fwrite(line.data, 1, line.len, out);
    fputc('\n', out);
    lbBufFree(&line);
}

void uiTablePrint(const UiTable *t, FILE *out) {
    if (t->colCount == 0)
        return;
    if (t->showHeader) {
        char **h = lbXcalloc(t->colCount, sizeof(char *));
        for (size_t i = 0; i < t->colCount; i++)
            h[i] = t->cols[i].header;
        printRow(t, h, t->colCount, out);
        free(h);
    }
    for (size_t r = 0; r * t->colCount < t->cellCount; r++) {
        size_t first = r * t->colCount, have = t->cellCount - first;
        printRow(t, t->cells + first, have < t->colCount ? have : t->colCount, out);
    }
}
