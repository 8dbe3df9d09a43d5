/*
 * table.h - human tables sized to their content.
 *
 * A UiTable collects a header and rows of text cells, then prints them with
 * each column as wide as its widest cell (header included), columns
 * separated by two spaces, the last column not padded. A long host or a
 * component such as "database-physical" widens its column instead of
 * pushing the rest of the row out of line. Widths count UTF-8 characters,
 * not bytes.
 *
 * Ownership: uiTableNew returns a table the caller frees with uiTableFree
 * (NULL is a no-op). Cell text is copied, with control characters shown as
 * \xHH (lbPrintable). Not thread-safe.
 */
#ifndef LIFEBOAT_UI_TABLE_H
#define LIFEBOAT_UI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct UiTable UiTable;

typedef enum UiAlign {
    UI_ALIGN_LEFT,
    UI_ALIGN_RIGHT,
} UiAlign;

UiTable *uiTableNew(void);
void uiTableFree(UiTable *table);

/* Add a column with its header text ("" for none) and alignment; all
 * columns are added before the first cell. */
void uiTableColumn(UiTable *table, const char *header, UiAlign align);
/* Print the header row (default) or not. */
void uiTableSetHeader(UiTable *table, bool show);

/* Append the next cell, row by row: after the last column of a row the next
 * cell starts a new row. NULL is an empty cell. */
void uiTableCell(UiTable *table, const char *text);
void uiTableCellf(UiTable *table, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

size_t uiTableRowCount(const UiTable *table);

/* Print the header (when shown) and every row to out; a row left unfinished
 * is printed with empty cells at its end. */
void uiTablePrint(const UiTable *table, FILE *out);

#endif
