/* dcerpc.c -- MS-RPC binds and requests from the client's byte stream
 * (see dcerpc.h). Records are framed by their own length (DCE/RPC's
 * frag_length, or NetBIOS's 24-bit length before SMB2); of each, the first
 * DCERPC_KEEP bytes are read through the bounded cursor and the rest is
 * skipped without copying. */
#include "proto/dcerpc.h"

#include <string.h>

#include "util/cursor.h"

#define PTYPE_REQUEST 0
#define PTYPE_BIND 11
#define PTYPE_ALTER_CONTEXT 14
#define PFC_FIRST_FRAG 0x01
#define RPC_HEADER 16
#define NBSS_HEADER 4
#define SMB2_HEADER 64
#define SMB2_WRITE 0x09
#define SMB2_IOCTL 0x0b
#define SMB2_FLAGS_RESPONSE 0x1
#define FSCTL_PIPE_TRANSCEIVE 0x0011c017u
#define SMB2_COMPOUND_MAX 16

struct uuid {
    uint32_t d1;
    uint16_t d2, d3;
    uint8_t d4[8];
};

static const struct {
    struct uuid id;
    enum dcerpc_iface iface;
} known[] = {
    { { 0x367abb81, 0x9844, 0x35f1, { 0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03 } },
      RPC_IF_SVCCTL },
    { { 0x1ff70682, 0x0a51, 0x30e8, { 0x07, 0x6d, 0x74, 0x0b, 0xe8, 0xce, 0xe9, 0x8b } },
      RPC_IF_ATSVC },
    { { 0x86d35949, 0x83c9, 0x4044, { 0xb4, 0x24, 0xdb, 0x36, 0x32, 0x31, 0xfd, 0x0c } },
      RPC_IF_TASKSCHD },
    { { 0x9556dc99, 0x828c, 0x11cf, { 0xa3, 0x7e, 0x00, 0xaa, 0x00, 0x32, 0x40, 0xc7 } },
      RPC_IF_WBEM },
    { { 0x000001a0, 0x0000, 0x0000, { 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 } },
      RPC_IF_SCM_ACTIVATOR },
    { { 0xe3514235, 0x4b06, 0x11d1, { 0xab, 0x04, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2 } },
      RPC_IF_DRSUAPI },
};

const char *dcerpc_iface_name(enum dcerpc_iface i)
{
    static const char *const n[RPC_IF_COUNT] = {
        "other", "svcctl", "atsvc", "ITaskSchedulerService", "IWbemServices",
        "IRemoteSCMActivator", "drsuapi",
    };
    return i < RPC_IF_COUNT ? n[i] : "other";
}

const char *dcerpc_op_name(enum dcerpc_op op)
{
    static const char *const n[RPC_OP_COUNT] = {
        "", "CreateService", "RegisterTask", "ExecMethod", "RemoteCreateInstance",
        "DRSGetNCChanges",
    };
    return op < RPC_OP_COUNT ? n[op] : "";
}

/* The operations that create or run something on the server. */
static enum dcerpc_op op_of(enum dcerpc_iface i, uint16_t opnum)
{
    switch (i) {
    case RPC_IF_SVCCTL: /* RCreateServiceW/A, RChangeServiceConfigW/A, ...WOW64A/W */
        return opnum == 12 || opnum == 24 || opnum == 11 || opnum == 23 ||
                       opnum == 44 || opnum == 45
                   ? RPC_OP_SERVICE_CREATE : RPC_OP_NONE;
    case RPC_IF_ATSVC: /* NetrJobAdd */
        return opnum == 0 ? RPC_OP_TASK_CREATE : RPC_OP_NONE;
    case RPC_IF_TASKSCHD: /* SchRpcRegisterTask */
        return opnum == 1 ? RPC_OP_TASK_CREATE : RPC_OP_NONE;
    case RPC_IF_WBEM: /* ExecMethod, ExecMethodAsync */
        return opnum == 24 || opnum == 25 ? RPC_OP_WMI_EXEC : RPC_OP_NONE;
    case RPC_IF_SCM_ACTIVATOR: /* RemoteCreateInstance */
        return opnum == 4 ? RPC_OP_DCOM_CREATE : RPC_OP_NONE;
    case RPC_IF_DRSUAPI: /* IDL_DRSGetNCChanges */
        return opnum == 3 ? RPC_OP_REPLICATE : RPC_OP_NONE;
    default:
        return RPC_OP_NONE;
    }
}

void dcerpc_init(struct dcerpc_state *s, bool smb)
{
    memset(s, 0, sizeof(*s));
    s->smb = smb;
}

void dcerpc_gap(struct dcerpc_state *s)
{
    s->broken = true;
}

/* ---- one DCE/RPC PDU ---------------------------------------------------- */

static uint16_t read16(cursor_t *c, bool le)
{
    return le ? cur_u16le(c) : cur_u16be(c);
}

static uint32_t read32(cursor_t *c, bool le)
{
    return le ? cur_u32le(c) : cur_u32be(c);
}

static enum dcerpc_iface iface_of(cursor_t *c, bool le)
{
    struct uuid u;
    u.d1 = read32(c, le);
    u.d2 = read16(c, le);
    u.d3 = read16(c, le);
    if (!cur_copy(c, u.d4, sizeof(u.d4)))
        return RPC_IF_OTHER;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i].id.d1 == u.d1 && known[i].id.d2 == u.d2 &&
            known[i].id.d3 == u.d3 && !memcmp(known[i].id.d4, u.d4, 8))
            return known[i].iface;
    return RPC_IF_OTHER;
}

static void remember_context(struct dcerpc_state *s, uint16_t id, enum dcerpc_iface i,
                             struct dcerpc_stats *st)
{
    for (unsigned k = 0; k < s->n_ctx; k++)
        if (s->ctx[k].id == id) {
            s->ctx[k].iface = (uint8_t)i;
            return;
        }
    st->contexts_over_cap += s->n_ctx == DCERPC_CONTEXTS;
    unsigned k = s->n_ctx < DCERPC_CONTEXTS ? s->n_ctx++ : id % DCERPC_CONTEXTS;
    s->ctx[k].id = id;
    s->ctx[k].iface = (uint8_t)i;
}

static enum dcerpc_iface context_iface(const struct dcerpc_state *s, uint16_t id)
{
    for (unsigned k = 0; k < s->n_ctx; k++)
        if (s->ctx[k].id == id)
            return (enum dcerpc_iface)s->ctx[k].iface;
    return RPC_IF_OTHER;
}

/* p_cont_elem_t list of a bind or alter_context (C706 12.6.4.3). */
static void read_bind(struct dcerpc_state *s, cursor_t *c, bool le,
                      struct dcerpc_stats *st)
{
    st->binds++;
    cur_skip(c, 8); /* max_xmit_frag, max_recv_frag, assoc_group_id */
    uint8_t n_ctx = cur_u8(c);
    cur_skip(c, 3);
    for (unsigned i = 0; i < n_ctx && cur_ok(c); i++) {
        uint16_t id = read16(c, le);
        uint8_t n_syn = cur_u8(c);
        cur_skip(c, 1);
        enum dcerpc_iface iface = iface_of(c, le);
        cur_skip(c, 4 + (size_t)n_syn * 20); /* its version, the transfer syntaxes */
        if (cur_ok(c))
            remember_context(s, id, iface, st);
    }
}

/* A PDU (or its first DCERPC_KEEP bytes); over_smb: from a pipe. */
static void read_pdu(struct dcerpc_state *s, const uint8_t *d, size_t n, bool over_smb,
                     dcerpc_fn fn, void *ctx, struct dcerpc_stats *st)
{
    cursor_t c = cur_make(d, n);
    uint8_t vers = cur_u8(&c), minor = cur_u8(&c), ptype = cur_u8(&c), flags = cur_u8(&c);
    uint8_t drep0 = cur_u8(&c);
    cur_skip(&c, 3 + 8); /* the rest of drep; frag_length, auth_length, call_id */
    if (!cur_ok(&c) || vers != 5 || minor > 1) {
        st->bad++;
        return;
    }
    bool le = (drep0 & 0xf0) == 0x10;
    st->pdus++;
    if (ptype == PTYPE_BIND || ptype == PTYPE_ALTER_CONTEXT) {
        read_bind(s, &c, le, st);
        return;
    }
    if (ptype != PTYPE_REQUEST || !(flags & PFC_FIRST_FRAG))
        return;
    cur_skip(&c, 4); /* alloc_hint */
    uint16_t cont = read16(&c, le), opnum = read16(&c, le);
    if (!cur_ok(&c))
        return;
    st->requests++;
    struct dcerpc_call call = { context_iface(s, cont), RPC_OP_NONE, opnum, over_smb };
    call.op = op_of(call.iface, opnum);
    if (call.op != RPC_OP_NONE) {
        st->calls++;
        fn(ctx, &call);
    }
}

/* ---- SMB2 requests that carry a pipe's bytes ----------------------------- */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The data of a WRITE, or the input of a pipe transceive IOCTL, of the
 * SMB2 message at m (avail bytes kept); NULL when it carries none. */
static const uint8_t *pipe_data(const uint8_t *m, size_t avail, size_t *len)
{
    uint16_t cmd = le16(m + 12);
    const uint8_t *body = m + SMB2_HEADER;
    size_t off, cnt;
    if (cmd == SMB2_WRITE && avail >= SMB2_HEADER + 8) {
        off = le16(body + 2);
        cnt = le32(body + 4);
    } else if (cmd == SMB2_IOCTL && avail >= SMB2_HEADER + 32 &&
               le32(body + 4) == FSCTL_PIPE_TRANSCEIVE) {
        off = le32(body + 24);
        cnt = le32(body + 28);
    } else {
        return NULL;
    }
    if (off < SMB2_HEADER || off >= avail)
        return NULL;
    *len = cnt < avail - off ? cnt : avail - off;
    return m + off;
}

#define SMB1_HEADER 32
#define SMB1_WRITE_ANDX 0x2f
#define SMB1_TRANSACTION 0x25
#define SMB1_FLAGS_REPLY 0x80

/* SMB1 (Impacket still speaks it where the server allows): the data of a
 * WRITE_ANDX, or of a TRANSACTION (TransactNmPipe), request at m. */
static const uint8_t *smb1_pipe_data(const uint8_t *m, size_t avail, size_t *len)
{
    if (avail < SMB1_HEADER + 1 || (m[9] & SMB1_FLAGS_REPLY))
        return NULL;
    const uint8_t *w = m + SMB1_HEADER + 1; /* the parameter words */
    uint8_t wc = m[SMB1_HEADER];
    size_t off, cnt;
    if (m[4] == SMB1_WRITE_ANDX && (wc == 12 || wc == 14) &&
        avail >= SMB1_HEADER + 1 + 24u) {
        cnt = le16(w + 20);
        off = le16(w + 22);
    } else if (m[4] == SMB1_TRANSACTION && wc >= 14 && avail >= SMB1_HEADER + 1 + 26u) {
        cnt = le16(w + 22);
        off = le16(w + 24);
    } else {
        return NULL;
    }
    if (off < SMB1_HEADER || off >= avail)
        return NULL;
    *len = cnt < avail - off ? cnt : avail - off;
    return m + off;
}

static void read_smb_record(struct dcerpc_state *s, const uint8_t *d, size_t n,
                            dcerpc_fn fn, void *ctx, struct dcerpc_stats *st)
{
    st->smb_records++;
    size_t off = NBSS_HEADER;
    if (n >= off + 4 && !memcmp(d + off, "\xffSMB", 4)) {
        size_t len;
        const uint8_t *pdu = smb1_pipe_data(d + off, n - off, &len);
        if (pdu && len >= RPC_HEADER && pdu[0] == 5)
            read_pdu(s, pdu, len, true, fn, ctx, st);
        return;
    }
    for (int k = 0; k < SMB2_COMPOUND_MAX && off + SMB2_HEADER <= n; k++) {
        const uint8_t *m = d + off;
        if (memcmp(m, "\xfeSMB", 4) != 0) {
            st->smb_skipped++; /* SMB 3 encrypted (0xfd), or not SMB */
            return;
        }
        size_t len;
        const uint8_t *pdu = !(le32(m + 16) & SMB2_FLAGS_RESPONSE)
                                 ? pipe_data(m, n - off, &len) : NULL;
        if (pdu && len >= RPC_HEADER && pdu[0] == 5)
            read_pdu(s, pdu, len, true, fn, ctx, st);
        uint32_t next = le32(m + 20);
        if (next < SMB2_HEADER) /* 0: the last; less: no message fits */
            return;
        off += next;
    }
}

/* ---- framing ------------------------------------------------------------ */

static size_t header_len(const struct dcerpc_state *s)
{
    return s->smb ? NBSS_HEADER : RPC_HEADER;
}

/* A PDU header's frag_length (16 bytes there), in its data representation. */
static uint16_t frag_length(const uint8_t *b)
{
    return (b[4] & 0xf0) == 0x10 ? le16(b + 8) : (uint16_t)(b[8] << 8 | b[9]);
}

/* The record's whole length from its header, 0 when it is none. */
static uint32_t record_len(const struct dcerpc_state *s)
{
    const uint8_t *b = s->buf;
    if (s->smb) /* NetBIOS session message (0) or keep-alive (0x85) */
        return b[0] == 0 || b[0] == 0x85
                   ? NBSS_HEADER + ((uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) : 0;
    if (b[0] != 5 || b[1] > 1)
        return 0;
    uint16_t frag = frag_length(b);
    return frag >= RPC_HEADER ? frag : 0;
}

static void record_done(struct dcerpc_state *s, dcerpc_fn fn, void *ctx,
                        struct dcerpc_stats *st)
{
    size_t kept = s->got < DCERPC_KEEP ? s->got : DCERPC_KEEP;
    if (s->smb)
        read_smb_record(s, s->buf, kept, fn, ctx, st);
    else
        read_pdu(s, s->buf, kept, false, fn, ctx, st);
    s->done = true;
}

void dcerpc_feed(struct dcerpc_state *s, const uint8_t *d, size_t n,
                 dcerpc_fn fn, void *ctx, struct dcerpc_stats *st)
{
    while (n && !s->broken) {
        size_t hl = header_len(s);
        if (s->got < hl) {
            size_t k = hl - s->got < n ? hl - s->got : n;
            memcpy(s->buf + s->got, d, k);
            s->got += (uint32_t)k, d += k, n -= k;
            if (s->got < hl)
                return;
            s->rec_len = record_len(s);
            s->done = false;
            if (!s->rec_len) {
                st->bad++;
                s->broken = true;
                return;
            }
            continue;
        }
        size_t left = s->rec_len - s->got;
        size_t k = left < n ? left : n;
        if (s->got < DCERPC_KEEP) {
            size_t c = DCERPC_KEEP - s->got < k ? DCERPC_KEEP - s->got : k;
            memcpy(s->buf + s->got, d, c);
        }
        s->got += (uint32_t)k, d += k, n -= k;
        if (!s->done && (s->got >= DCERPC_KEEP || s->got == s->rec_len))
            record_done(s, fn, ctx, st);
        if (s->got == s->rec_len)
            s->got = 0;
    }
}

bool dcerpc_is_bind(const uint8_t *d, size_t n)
{
    if (n < 28 || d[0] != 5 || d[1] > 1 || d[2] != PTYPE_BIND)
        return false;
    uint16_t frag = frag_length(d);
    return frag >= 28 && frag <= 8192;
}
