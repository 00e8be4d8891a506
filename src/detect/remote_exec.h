/* remote_exec.h -- one internal host running code on another, and what
 * that says once either end turns out compromised.
 *
 * Intruders move from host to host with the administrator's own means:
 * a service created through the service control manager (PsExec,
 * SMBExec, Impacket), a scheduled task registered from afar, a WMI method
 * executed (Win32_Process.Create: WMIExec), a DCOM object created on the
 * other machine, a WinRM shell (PowerShell remoting, Empire's and
 * Covenant's lateral movement), and, once they hold a domain admin,
 * replication of the directory's secrets (DCSync). nightjar sees these
 * operations in the clear even when their arguments are sealed (the
 * interface and opnum of MS-RPC calls, proto/dcerpc.h; the /wsman URL of
 * WinRM over HTTP).
 *
 * Administrators do the same every day, so an operation alone is an
 * anomaly (lateral_movement, low), never an alert. It becomes one when the
 * dots join:
 *   - the target's first alert (of any detector) comes within 30 minutes
 *     after: the source ran the code that then called out -- the source
 *     is where the intruder came from (an alert about the source, naming
 *     the target);
 *   - the source had an alert before it ran code on the target: a host
 *     known compromised spread (an alert about the target);
 *   - directory replication (DRSGetNCChanges) asked by a host that is
 *     none of those seen serving Kerberos: only domain controllers
 *     replicate (an anomaly while no controller has been seen).
 * The finding is lateral_movement, so the correlator puts the other end
 * into the same incident.
 *
 * Only pairs of internal hosts (the pipeline's home networks). Fixed-size
 * tables allocated once: operations (the oldest replaced), hosts with an
 * alert, hosts serving Kerberos. Reads parsed events and other detectors'
 * findings; never parses, never writes output.
 */
#ifndef NIGHTJAR_REMOTE_EXEC_H
#define NIGHTJAR_REMOTE_EXEC_H

#include <stdint.h>

#include "detect/finding.h"
#include "detect/home_net.h"

#define REMOTE_EXEC_WINDOW_USEC (30ull * 60 * 1000000) /* op -> target's alert */

struct remote_exec_stats {
    uint64_t operations, anomalies, alerts, dcsync, replaced;
    uint64_t alerted_replaced, controllers_replaced; /* tables full: oldest out */
};

struct flow;
struct http_tx;
struct dcerpc_call;
struct counters;
struct remote_exec;

struct remote_exec *remote_exec_new(const struct home_net *home, finding_fn sink,
                                    void *ctx);
void remote_exec_free(struct remote_exec *r);
void remote_exec_counters(const struct remote_exec *r, struct counters *c);
const struct remote_exec_stats *remote_exec_stats(const struct remote_exec *r);

/* An MS-RPC call of flow f's client that creates or runs something. */
void remote_exec_on_rpc(struct remote_exec *r, const struct flow *f,
                        const struct dcerpc_call *call, uint64_t now);
/* An HTTP request: WinRM (POST /wsman) is a remote shell. */
void remote_exec_on_http(struct remote_exec *r, const struct flow *f,
                         const struct http_tx *tx, uint64_t now);
/* A finished flow: a server answering Kerberos (88) is a domain controller. */
void remote_exec_on_flow_end(struct remote_exec *r, const struct flow *f);
/* Every alert-level finding of every detector (its own included). */
void remote_exec_on_finding(struct remote_exec *r, const struct finding *fd);

#endif
