/* dataset_capture.c -- a capture's flows as rows: the capture goes through
 * the sensor's own pipeline (with the model off), so the features are
 * exactly those the sensor scores; the pipeline hands over every finished
 * flow (see dataset.h). Kept apart from dataset.c because the pipeline's
 * JSON writer and jansson share names. */
#include "train/dataset.h"

#include <string.h>

#include "capture/capture.h"
#include "detect/eta_detect.h"
#include "flow/flow_table.h"
#include "sensor/pipeline.h"

static void on_flow(void *ctx, const struct flow *f, const struct eta_result *r)
{
    struct collect *c = ctx;
    struct source_info *s = &c->d->sources[c->source];
    if (!r || !r->extracted) {
        s->too_small++;
        return;
    }
    enum label l = c->label;
    if (l == LABEL_UNKNOWN)
        l = label_flow(c->rule, f->key.ip_version, flow_addr(f, 0)->b,
                       flow_addr(f, 1)->b, c->unlisted_benign);
    if (l == LABEL_UNKNOWN) {
        s->skipped++;
        return;
    }
    if (!dataset_add_row(c->d, r->x, l, c->source))
        c->oom = true;
}

bool dataset_read_capture(struct collect *c, const char *path,
                         const struct nj_config *base, char *err, size_t errlen)
{
    struct nj_config cfg = *base;
    cfg.eta.enabled = true;
    cfg.eta.features_only = true;
    cfg.anomaly.enabled = false; /* baselines would only cost time here */
    struct pipeline *pl = pipeline_new(&cfg, NULL, err, errlen);
    if (!pl)
        return false;
    pipeline_set_flow_observer(pl, on_flow, c);
    struct capture *cap = capture_open_file(path, cfg.bpf, err, errlen);
    if (!cap) {
        pipeline_free(pl);
        return false;
    }
    struct packet p;
    memset(&p, 0, sizeof(p));
    while (capture_next(cap, &p) == CAPTURE_PACKET)
        pipeline_packet(pl, &p);
    capture_close(cap);
    pipeline_finish(pl);
    pipeline_free(pl);
    if (c->oom)
        snprintf(err, errlen, "out of memory");
    return !c->oom;
}

