/* test_dcerpc.c -- MS-RPC binds and requests read from hand-built byte
 * streams: on TCP, in SMB2 WRITE and IOCTL requests, in SMB1 WRITE_ANDX,
 * little- and big-endian, fed whole and byte by byte, with PDUs longer than
 * what is kept; the operations that create or run something are reported
 * and the others not; responses, SMB 3 encrypted records and broken
 * framing are skipped and counted. */
#include <string.h>

#include "proto/app_detect.h"
#include "proto/dcerpc.h"
#include "testing.h"

/* ---- building PDUs --------------------------------------------------------- */

struct out {
    uint8_t b[4096];
    size_t n;
};

static void put(struct out *o, const void *p, size_t n)
{
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put8(struct out *o, uint8_t v) { put(o, &v, 1); }
static void put16(struct out *o, uint16_t v, bool le)
{
    uint8_t b[2] = { le ? (uint8_t)v : (uint8_t)(v >> 8), le ? (uint8_t)(v >> 8) : (uint8_t)v };
    put(o, b, 2);
}
static void put32(struct out *o, uint32_t v, bool le)
{
    for (int i = 0; i < 4; i++)
        put8(o, (uint8_t)(le ? v >> (8 * i) : v >> (8 * (3 - i))));
}
static void patch16(struct out *o, size_t at, uint16_t v, bool le)
{
    o->b[at] = le ? (uint8_t)v : (uint8_t)(v >> 8);
    o->b[at + 1] = le ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static const uint8_t SVCCTL[16] = { 0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35,
                                    0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03 };
static const uint8_t SAMR[16] = { 0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab,
                                  0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xac };
static const uint8_t DRSUAPI[16] = { 0x35, 0x42, 0x51, 0xe3, 0x06, 0x4b, 0xd1, 0x11,
                                     0xab, 0x04, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2 };

/* the UUID as written in little-endian (le) or big-endian order */
static void put_uuid(struct out *o, const uint8_t le_form[16], bool le)
{
    if (le) {
        put(o, le_form, 16);
        return;
    }
    uint8_t b[16] = { le_form[3], le_form[2], le_form[1], le_form[0], le_form[5], le_form[4],
                      le_form[7], le_form[6] };
    memcpy(b + 8, le_form + 8, 8);
    put(o, b, 16);
}

static void header(struct out *o, uint8_t ptype, uint8_t flags, bool le)
{
    put8(o, 5), put8(o, 0), put8(o, ptype), put8(o, flags);
    put8(o, le ? 0x10 : 0x00), put8(o, 0), put8(o, 0), put8(o, 0);
    put16(o, 0, le);  /* frag_length, patched */
    put16(o, 0, le);  /* auth_length */
    put32(o, 1, le);  /* call_id */
}

/* A bind of interface iface as context ctx_id, from o->n on. */
static void bind_pdu(struct out *o, const uint8_t iface[16], uint16_t ctx_id, bool le)
{
    size_t at = o->n;
    header(o, 11, 0x03, le);
    put16(o, 4280, le), put16(o, 4280, le), put32(o, 0, le);
    put8(o, 2), put8(o, 0), put8(o, 0), put8(o, 0); /* two contexts */
    static const uint8_t NDR[16] = { 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
                                     0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60 };
    for (int k = 0; k < 2; k++) {
        put16(o, (uint16_t)(ctx_id + k), le), put8(o, 1), put8(o, 0);
        put_uuid(o, k ? SAMR : iface, le);
        put32(o, 2, le);
        put_uuid(o, NDR, le);
        put32(o, 2, le);
    }
    patch16(o, at + 8, (uint16_t)(o->n - at), le);
}

/* A request on context ctx_id for opnum, with stub bytes of padding. */
static void request_pdu(struct out *o, uint16_t ctx_id, uint16_t opnum, size_t stub,
                        bool le)
{
    size_t at = o->n;
    header(o, 0, 0x03, le);
    put32(o, (uint32_t)stub, le), put16(o, ctx_id, le), put16(o, opnum, le);
    for (size_t i = 0; i < stub; i++)
        put8(o, (uint8_t)i);
    patch16(o, at + 8, (uint16_t)(o->n - at), le);
}

/* ---- feeding ------------------------------------------------------------- */

static struct dcerpc_call calls[16];
static int n_calls;

static void on_call(void *ctx, const struct dcerpc_call *c)
{
    (void)ctx;
    if (n_calls < 16)
        calls[n_calls++] = *c;
}

static struct dcerpc_stats st;

static void feed(struct dcerpc_state *s, const struct out *o, bool bytewise)
{
    if (!bytewise) {
        dcerpc_feed(s, o->b, o->n, on_call, NULL, &st);
        return;
    }
    for (size_t i = 0; i < o->n; i++)
        dcerpc_feed(s, o->b + i, 1, on_call, NULL, &st);
}

static void reset(void)
{
    n_calls = 0;
    memset(&st, 0, sizeof(st));
}

/* ---- tests ----------------------------------------------------------------- */

static void test_tcp_bind_then_create_service(void)
{
    for (int variant = 0; variant < 4; variant++) {
        bool le = variant < 2, bytewise = variant & 1;
        reset();
        struct out o = { .n = 0 };
        bind_pdu(&o, SVCCTL, 0, le);
        CHECK(dcerpc_is_bind(o.b, o.n));
        request_pdu(&o, 0, 15, 40, le);   /* OpenSCManagerW: nothing created */
        request_pdu(&o, 1, 12, 40, le);   /* samr's opnum 12: not svcctl's */
        request_pdu(&o, 0, 12, 2000, le); /* RCreateServiceW, longer than kept */
        request_pdu(&o, 0, 19, 40, le);   /* RStartServiceW */
        struct dcerpc_state s;
        dcerpc_init(&s, false);
        feed(&s, &o, bytewise);
        CHECK_EQ(n_calls, 1);
        CHECK_EQ(calls[0].iface, RPC_IF_SVCCTL);
        CHECK_EQ(calls[0].op, RPC_OP_SERVICE_CREATE);
        CHECK_EQ(calls[0].opnum, 12);
        CHECK(!calls[0].over_smb);
        CHECK_EQ(st.binds, 1);
        CHECK_EQ(st.requests, 4);
        CHECK_EQ(st.bad, 0);
    }
    CHECK_STR(dcerpc_op_name(RPC_OP_SERVICE_CREATE), "CreateService");
    CHECK_STR(dcerpc_iface_name(RPC_IF_DRSUAPI), "drsuapi");
}

static void test_a_bind_is_recognised_as_the_first_bytes(void)
{
    struct out o = { .n = 0 };
    bind_pdu(&o, DRSUAPI, 0, true);
    CHECK(dcerpc_is_bind(o.b, o.n));
    CHECK_EQ(app_detect(6, 0, o.b, o.n, 50000, 49667), APP_DCERPC);
    CHECK_STR(app_proto_name(APP_DCERPC), "dcerpc");
    o.b[2] = 0; /* a request is no opening */
    CHECK(!dcerpc_is_bind(o.b, o.n));
    CHECK(!dcerpc_is_bind(o.b, 20));
}

/* The PDUs of o wrapped as SMB2 WRITE (ioctl false) or IOCTL requests, one
 * NetBIOS record each, and a response record in between. */
static void smb2_wrap(struct out *w, const uint8_t *pdu, size_t n, bool ioctl, bool response)
{
    size_t at = w->n;
    put32(w, 0, false); /* NetBIOS length, patched */
    size_t hdr = w->n;
    put(w, "\xfeSMB", 4);
    put16(w, 64, true), put16(w, 0, true), put32(w, 0, true);
    put16(w, ioctl ? 0x0b : 0x09, true), put16(w, 1, true);
    put32(w, response ? 1 : 0, true), put32(w, 0, true); /* flags, next */
    while (w->n - hdr < 64)
        put8(w, 0);
    if (ioctl) {
        put16(w, 57, true), put16(w, 0, true), put32(w, 0x0011c017, true);
        for (int i = 0; i < 16; i++)
            put8(w, 0xaa); /* FileId */
        put32(w, 64 + 56, true), put32(w, (uint32_t)n, true);
        put32(w, 0, true), put32(w, 0, true), put32(w, 0, true), put32(w, 1024, true);
        put32(w, 1, true), put32(w, 0, true);
    } else {
        put16(w, 49, true), put16(w, 64 + 48, true), put32(w, (uint32_t)n, true);
        for (int i = 0; i < 40; i++)
            put8(w, 0);
    }
    put(w, pdu, n);
    uint32_t len = (uint32_t)(w->n - at - 4);
    w->b[at + 1] = (uint8_t)(len >> 16), w->b[at + 2] = (uint8_t)(len >> 8),
    w->b[at + 3] = (uint8_t)len;
}

static void test_smb2_pipes_write_and_ioctl(void)
{
    reset();
    struct out b = { .n = 0 }, r = { .n = 0 }, q = { .n = 0 }, w = { .n = 0 };
    bind_pdu(&b, SVCCTL, 0, true);
    request_pdu(&r, 0, 12, 100, true);
    request_pdu(&q, 0, 24, 100, true); /* RCreateServiceA */
    smb2_wrap(&w, b.b, b.n, false, false);
    smb2_wrap(&w, r.b, r.n, false, true);  /* a response: never read */
    smb2_wrap(&w, r.b, r.n, true, false);  /* the request by IOCTL */
    smb2_wrap(&w, q.b, q.n, false, false); /* and by WRITE */
    struct dcerpc_state s;
    dcerpc_init(&s, true);
    feed(&s, &w, true);
    CHECK_EQ(n_calls, 2);
    CHECK_EQ(calls[0].opnum, 12);
    CHECK_EQ(calls[1].opnum, 24);
    CHECK(calls[0].over_smb && calls[1].over_smb);
    CHECK_EQ(st.smb_records, 4);
    /* an SMB 3 encrypted record is skipped, framing goes on */
    struct out e = { .n = 0 };
    smb2_wrap(&e, r.b, r.n, false, false);
    e.b[4] = 0xfd;
    smb2_wrap(&e, r.b, r.n, false, false);
    dcerpc_feed(&s, e.b, e.n, on_call, NULL, &st);
    CHECK_EQ(st.smb_skipped, 1);
    CHECK_EQ(n_calls, 3);
}

static void test_smb1_write_andx(void)
{
    reset();
    struct out b = { .n = 0 }, r = { .n = 0 };
    bind_pdu(&b, SVCCTL, 0, true);
    request_pdu(&r, 0, 12, 60, true);
    struct out w = { .n = 0 };
    const struct out *pdus[2] = { &b, &r };
    for (int k = 0; k < 2; k++) {
        size_t at = w.n;
        put32(&w, 0, false);
        size_t hdr = w.n;
        put(&w, "\xffSMB", 4);
        put8(&w, 0x2f); /* WRITE_ANDX */
        while (w.n - hdr < 32)
            put8(&w, 0);
        put8(&w, 14); /* word count */
        size_t words = w.n;
        for (int i = 0; i < 28; i++)
            put8(&w, 0);
        put16(&w, 0, true); /* byte count */
        size_t data = w.n - hdr;
        patch16(&w, words + 20, (uint16_t)pdus[k]->n, true);
        patch16(&w, words + 22, (uint16_t)data, true);
        put(&w, pdus[k]->b, pdus[k]->n);
        uint32_t len = (uint32_t)(w.n - at - 4);
        w.b[at + 2] = (uint8_t)(len >> 8), w.b[at + 3] = (uint8_t)len;
    }
    struct dcerpc_state s;
    dcerpc_init(&s, true);
    feed(&s, &w, false);
    CHECK_EQ(n_calls, 1);
    CHECK_EQ(calls[0].op, RPC_OP_SERVICE_CREATE);
    CHECK(calls[0].over_smb);
}

static void test_replication_and_broken_framing(void)
{
    reset();
    struct out o = { .n = 0 };
    bind_pdu(&o, DRSUAPI, 3, true);
    request_pdu(&o, 3, 3, 200, true); /* IDL_DRSGetNCChanges */
    request_pdu(&o, 3, 12, 20, true); /* IDL_DRSCrackNames: an everyday call */
    struct dcerpc_state s;
    dcerpc_init(&s, false);
    feed(&s, &o, false);
    CHECK_EQ(n_calls, 1);
    CHECK_EQ(calls[0].op, RPC_OP_REPLICATE);
    /* a record that is no PDU: nothing more is read from the flow */
    uint8_t junk[32] = "GET / HTTP/1.1\r\n";
    dcerpc_feed(&s, junk, sizeof(junk), on_call, NULL, &st);
    CHECK_EQ(st.bad, 1);
    feed(&s, &o, false);
    CHECK_EQ(n_calls, 1);
    /* after a gap neither */
    reset();
    dcerpc_init(&s, false);
    dcerpc_gap(&s);
    feed(&s, &o, false);
    CHECK_EQ(n_calls, 0);
}

TEST_LIST(test_tcp_bind_then_create_service, test_a_bind_is_recognised_as_the_first_bytes,
          test_smb2_pipes_write_and_ioctl, test_smb1_write_andx,
          test_replication_and_broken_framing);
