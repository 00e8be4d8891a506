/* delivery.h -- code arriving: executables, DLLs, installers, scripts,
 * JARs, shortcuts, Office documents with macros and archives holding any
 * of those, downloaded over HTTP or attached to mail.
 *
 * The file's type comes from its bytes (content/filetype.h), never from its
 * name. Downloading software is ordinary; what droppers and exploit kits do
 * differently is what this judges, each fact named in the evidence:
 *   - the name or the Content-Type lies (a PE called .rar, .dat or .png, or
 *     with no executable name at all; served as an image or text);
 *   - the bytes are encrypted but labelled as an executable (an exploit
 *     kit's payload);
 *   - the server was asked for by address (an IP literal as Host);
 *   - it is unsigned (a PE without an Authenticode certificate table) and
 *     fetched by something that is no browser (no User-Agent, a scripting
 *     tool, Java, PowerShell, a 2010 Internet Explorer), or from a dynamic
 *     DNS name, or it is a macro document, script, HTA, shortcut or an
 *     archive holding an executable.
 * A lie, encrypted bytes, or an unsigned executable from an outside server
 * asked for by address is strong (severity 1: enough on its own to call
 * the host compromised; from an address inside the network it is an
 * alert: software shares are reached that way);
 * the rest of the second list is an alert (severity 2); any other
 * executable download is an anomaly (low, joins an incident). Mail: an
 * executable attachment is an alert, strong when its name lies.
 *
 * Stateless; reads parsed records and content results; never writes
 * output.
 */
#ifndef NIGHTJAR_DELIVERY_H
#define NIGHTJAR_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "content/content.h"
#include "detect/finding.h"

struct flow;
struct http_tx;

/* What arrived, how. subj: the client and server (a flow's ends, or an
 * ICAP transaction's client and the server it fetched from); tx: the
 * HTTP transaction of a download (NULL for a mail attachment); name: the
 * file name it came under ("" none). */
struct delivery_input {
    const struct event_subject *subj;
    const struct http_tx *tx;
    const struct content_result *r;
    const char *name;
    uint64_t size;
    int dir;                 /* 1: to the client (a download) */
    bool mail;
    bool inside;             /* the server is inside the home networks */
    uint64_t ts_usec;
};

/* Fills fd and returns true when the file is a delivery finding. */
bool delivery_judge(const struct delivery_input *in, struct finding *fd);

#endif
