/* dcerpc.h -- the calls a client makes over MS-RPC (DCE/RPC 1.1,
 * connection-oriented, C706 chapter 12), on its own TCP port (the endpoint
 * mapper's 135 and the dynamic ports it hands out) or through a named pipe
 * over SMB2 (WRITE and IOCTL FSCTL_PIPE_TRANSCEIVE requests, [MS-SMB2]) or
 * SMB1 (WRITE_ANDX and TRANSACTION requests, [MS-CIFS]).
 *
 * What matters for detection stays in the clear even when the call's
 * arguments are sealed: a bind names the interface (its UUID), a request
 * the operation (its opnum) on a context the bind set up. This reader
 * keeps, of every PDU or SMB2 record the client sends, only its first
 * DCERPC_KEEP bytes (headers), skips the rest, maps context ids to the
 * interfaces that say how a host is run from afar -- the service control
 * manager, the task scheduler, WMI, DCOM activation, directory replication
 * -- and reports the operations on them that create or run something.
 * Responses (the server's side) are never read. SMB 3 encrypted records
 * are skipped (counted).
 *
 * It parses and reports; it never judges. State per flow is fixed-size,
 * allocated once by the caller.
 */
#ifndef NIGHTJAR_DCERPC_H
#define NIGHTJAR_DCERPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DCERPC_KEEP 1024       /* bytes kept of each PDU or SMB2 record */
#define DCERPC_CONTEXTS 8      /* presentation contexts remembered per flow */

/* The interfaces read, and what their operations do. */
enum dcerpc_iface {
    RPC_IF_OTHER = 0,
    RPC_IF_SVCCTL,             /* service control manager ([MS-SCMR]) */
    RPC_IF_ATSVC,              /* the old task scheduler ([MS-TSCH] ATSvc) */
    RPC_IF_TASKSCHD,           /* ITaskSchedulerService ([MS-TSCH]) */
    RPC_IF_WBEM,               /* IWbemServices ([MS-WMI]) */
    RPC_IF_SCM_ACTIVATOR,      /* IRemoteSCMActivator ([MS-DCOM]) */
    RPC_IF_DRSUAPI,            /* directory replication ([MS-DRSR]) */
    RPC_IF_COUNT
};

/* What an operation does to the server. */
enum dcerpc_op {
    RPC_OP_NONE = 0,
    RPC_OP_SERVICE_CREATE,     /* RCreateServiceW/A, ...WOW64 */
    RPC_OP_TASK_CREATE,        /* NetrJobAdd, SchRpcRegisterTask */
    RPC_OP_WMI_EXEC,           /* IWbemServices::ExecMethod(Async) */
    RPC_OP_DCOM_CREATE,        /* RemoteCreateInstance */
    RPC_OP_REPLICATE,          /* IDL_DRSGetNCChanges: DCSync */
    RPC_OP_COUNT
};

struct dcerpc_call {
    enum dcerpc_iface iface;
    enum dcerpc_op op;
    uint16_t opnum;
    bool over_smb;             /* through a named pipe */
};

struct dcerpc_stats {
    uint64_t pdus, binds, requests, calls, smb_records, smb_skipped, bad;
    uint64_t contexts_over_cap;  /* a bind past DCERPC_CONTEXTS replaced one */
};

struct dcerpc_state {
    bool smb;                  /* records are NetBIOS-framed SMB2 */
    bool broken;               /* framing lost: nothing more is read */
    bool done;                 /* this record's kept bytes were read */
    uint32_t rec_len;          /* the record's length, its header included */
    uint32_t got;              /* bytes of it seen */
    uint8_t n_ctx;
    struct {
        uint16_t id;
        uint8_t iface;
    } ctx[DCERPC_CONTEXTS];
    uint8_t buf[DCERPC_KEEP];
};

typedef void (*dcerpc_fn)(void *ctx, const struct dcerpc_call *call);

/* smb: the flow is SMB (port 445/139), else DCE/RPC on TCP. */
void dcerpc_init(struct dcerpc_state *s, bool smb);

/* The client's bytes, in order, in any pieces; operations that create or
 * run something go to fn. */
void dcerpc_feed(struct dcerpc_state *s, const uint8_t *d, size_t n,
                 dcerpc_fn fn, void *ctx, struct dcerpc_stats *st);

/* The client's bytes were lost (a gap): framing cannot be trusted again. */
void dcerpc_gap(struct dcerpc_state *s);

/* Short names for the records: "svcctl", "CreateService" ... */
const char *dcerpc_iface_name(enum dcerpc_iface i);
const char *dcerpc_op_name(enum dcerpc_op op);

/* A DCE/RPC bind as a TCP flow's first bytes (for app detection). */
bool dcerpc_is_bind(const uint8_t *d, size_t n);

#endif
