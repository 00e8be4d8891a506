/* eve_findings.h -- one EVE record read back into a finding: the inverse
 * of output/eve_finding.c, for the central correlator (correlate_main.c),
 * which joins the findings of several sensors into incidents.
 *
 * Owns the reading of one record's JSON text: which records are findings
 * (an `alert` of any detector -- behaviour, intel, ETA, YARA -- and an
 * `anomaly`), and each field written by eve_finding_fields(): kind, stage,
 * host, peer, port, observed/baseline/deviation/unit, detail, indicators,
 * strong, plus the alert's severity, action (blocked), signature id, the
 * record's xff (forwarded) and its timestamp -- traffic time, never the
 * wall clock, so a replay gives the same incidents. The detector-specific
 * evidence (the feed's indicator, the model's features, the rule's
 * strings) is not rebuilt: the finding comes back as behaviour evidence,
 * with its kind telling which detector spoke.
 *
 * Records a sensor writes about its own incidents (event_type incident,
 * and the host-compromised alert, signature 9500001) are not findings: the
 * reader says so, so that they are counted and skipped, never joined twice.
 *
 * Must never abort or trust its input: any text is read, a record it cannot
 * understand is reported malformed, and nothing is kept between calls. It
 * never correlates and never writes output.
 */
#ifndef NIGHTJAR_EVE_FINDINGS_H
#define NIGHTJAR_EVE_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "detect/finding.h"

enum eve_record_kind {
    EVE_RECORD_FINDING,   /* an alert or anomaly of a detector: out holds it */
    EVE_RECORD_OWN,       /* an incident event or a host-compromised alert */
    EVE_RECORD_OTHER,     /* flow, dns, stats, another tool's alert, ... */
    EVE_RECORD_MALFORMED, /* not a JSON object, no valid timestamp or
                           * event_type, or a finding without its fields */
};

/* A finding read back; fd.unit points into unit. */
struct eve_finding {
    struct finding fd;
    char unit[32];
};

/* Reads one record (len bytes, no terminator needed; a final newline is
 * allowed). *ts_usec gets the record's timestamp whatever its kind but
 * malformed; out is filled for a finding only. */
enum eve_record_kind eve_read_record(const char *text, size_t len,
                                     struct eve_finding *out,
                                     uint64_t *ts_usec);

#endif
