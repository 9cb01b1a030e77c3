/*
 * csv.h - CSV as RFC 4180 writes it, for the licensing exports
 * (porthole-relay usage --csv, porthole usage --csv): fields separated
 * by commas, lines ended by CRLF, a field holding a comma, a quote, CR
 * or LF quoted with its quotes doubled.  A text field that a
 * spreadsheet would take for a formula (one starting with = + - @, a
 * tab or CR) is written with a leading single quote, as OWASP advises,
 * so that opening an export cannot run what a cluster chose as a unit
 * name.  Numbers are written in the shortest form that reads back as
 * the same double.
 */
#ifndef PH_CSV_H
#define PH_CSV_H

#include <stdio.h>

/* One text field; first says whether it starts the line.  0 or -1. */
int	csv_text(FILE *f, const char *s, int first);
/* One number field (never first). */
int	csv_number(FILE *f, double v);
/* End the line. */
int	csv_end(FILE *f);

#endif
