/* roc_png.c -- ROC curve pictures (see roc_png.h). */
#include "train/roc_png.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define W 1000
#define H 480
#define PANEL 400           /* plot square side */
#define MARGIN_X 60
#define MARGIN_Y 40

struct canvas {
    uint8_t px[H][W][3];
};

static void dot(struct canvas *c, int x, int y, const uint8_t rgb[3])
{
    if (x >= 0 && x < W && y >= 0 && y < H)
        memcpy(c->px[y][x], rgb, 3);
}

static void line(struct canvas *c, int x0, int y0, int x1, int y1,
                 const uint8_t rgb[3], int dash)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy, step = 0;
    for (;;) {
        if (!dash || (step++ / dash) % 2 == 0) {
            dot(c, x0, y0, rgb);
            dot(c, x0, y0 + 1, rgb);
        }
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

/* 5x7 glyphs, one byte per row, bit 4 leftmost. */
static const struct glyph {
    char ch;
    uint8_t rows[7];
} font[] = {
    { '0', { 14, 17, 19, 21, 25, 17, 14 } }, { '1', { 4, 12, 4, 4, 4, 4, 14 } },
    { '2', { 14, 17, 1, 2, 4, 8, 31 } },     { '3', { 31, 2, 4, 2, 1, 17, 14 } },
    { '4', { 2, 6, 10, 18, 31, 2, 2 } },     { '5', { 31, 16, 30, 1, 1, 17, 14 } },
    { '6', { 6, 8, 16, 30, 17, 17, 14 } },   { '7', { 31, 1, 2, 4, 8, 8, 8 } },
    { '8', { 14, 17, 17, 14, 17, 17, 14 } }, { '9', { 14, 17, 17, 15, 1, 2, 12 } },
    { '.', { 0, 0, 0, 0, 0, 12, 12 } },      { '-', { 0, 0, 0, 31, 0, 0, 0 } },
    { ':', { 0, 12, 12, 0, 12, 12, 0 } },    { '=', { 0, 0, 31, 0, 31, 0, 0 } },
    { '(', { 2, 4, 8, 8, 8, 4, 2 } },        { ')', { 8, 4, 2, 2, 2, 4, 8 } },
    { 'A', { 14, 17, 17, 31, 17, 17, 17 } }, { 'B', { 30, 17, 17, 30, 17, 17, 30 } },
    { 'C', { 14, 17, 16, 16, 16, 17, 14 } }, { 'D', { 28, 18, 17, 17, 17, 18, 28 } },
    { 'E', { 31, 16, 16, 30, 16, 16, 31 } }, { 'F', { 31, 16, 16, 30, 16, 16, 16 } },
    { 'G', { 14, 17, 16, 23, 17, 17, 15 } }, { 'H', { 17, 17, 17, 31, 17, 17, 17 } },
    { 'I', { 14, 4, 4, 4, 4, 4, 14 } }, { 'J', { 7, 2, 2, 2, 2, 18, 12 } },
    { 'K', { 17, 18, 20, 24, 20, 18, 17 } }, { 'L', { 16, 16, 16, 16, 16, 16, 31 } },
    { 'M', { 17, 27, 21, 21, 17, 17, 17 } }, { 'N', { 17, 25, 21, 19, 17, 17, 17 } },
    { 'O', { 14, 17, 17, 17, 17, 17, 14 } }, { 'P', { 30, 17, 17, 30, 16, 16, 16 } },
    { 'Q', { 14, 17, 17, 17, 21, 18, 13 } }, { 'R', { 30, 17, 17, 30, 20, 18, 17 } },
    { 'S', { 15, 16, 16, 14, 1, 1, 30 } }, { 'T', { 31, 4, 4, 4, 4, 4, 4 } },
    { 'U', { 17, 17, 17, 17, 17, 17, 14 } }, { 'V', { 17, 17, 17, 17, 17, 10, 4 } },
    { 'W', { 17, 17, 17, 21, 21, 21, 10 } }, { 'X', { 17, 17, 10, 4, 10, 17, 17 } },
    { 'Y', { 17, 17, 10, 4, 4, 4, 4 } }, { 'Z', { 31, 1, 2, 4, 8, 16, 31 } },
};

static void text(struct canvas *c, int x, int y, const char *s,
                 const uint8_t rgb[3])
{
    for (; *s; s++, x += 12) {
        for (size_t g = 0; g < sizeof(font) / sizeof(font[0]); g++) {
            if (font[g].ch != *s)
                continue;
            for (int r = 0; r < 7; r++)
                for (int b = 0; b < 5; b++)
                    if (font[g].rows[r] & (16 >> b))
                        for (int k = 0; k < 4; k++) /* 2x scale */
                            dot(c, x + 2 * b + (k & 1), y + 2 * r + (k >> 1), rgb);
        }
    }
}

static const uint8_t BLACK[3] = { 0, 0, 0 }, GREY[3] = { 200, 200, 200 },
                     BLUE[3] = { 20, 80, 200 }, RED[3] = { 200, 40, 40 };

/* x in [0,1] of the panel; log panels map 1e-4..1 to 0..1 */
static double fx(double fpr, bool log_x)
{
    if (!log_x)
        return fpr;
    double v = fpr < 1e-4 ? 1e-4 : fpr;
    return (log10(v) + 4) / 4;
}

static void panel(struct canvas *c, int ox, const struct roc_point *pts,
                  size_t n, bool log_x)
{
    int oy = MARGIN_Y + PANEL; /* bottom-left corner */
    for (int k = 0; k <= 4; k++) {
        int gx = ox + PANEL * k / 4, gy = oy - PANEL * k / 4;
        line(c, gx, oy, gx, oy - PANEL, GREY, 0);
        line(c, ox, gy, ox + PANEL, gy, GREY, 0);
        char lab[16];
        if (log_x)
            snprintf(lab, sizeof(lab), k == 4 ? "1" : "1E-%d", 4 - k);
        else
            snprintf(lab, sizeof(lab), "%.2g", k / 4.0);
        text(c, gx - 10, oy + 6, lab, BLACK);
        snprintf(lab, sizeof(lab), "%.2g", k / 4.0);
        text(c, ox - 44, gy - 7, lab, BLACK);
    }
    line(c, ox, oy, ox + PANEL, oy, BLACK, 0);
    line(c, ox, oy, ox, oy - PANEL, BLACK, 0);
    if (!log_x)
        line(c, ox, oy, ox + PANEL, oy - PANEL, RED, 4);
    for (size_t i = 1; i < n; i++) {
        int x0 = ox + (int)lround(fx(pts[i - 1].fpr, log_x) * PANEL);
        int x1 = ox + (int)lround(fx(pts[i].fpr, log_x) * PANEL);
        int y0 = oy - (int)lround(pts[i - 1].tpr * PANEL);
        int y1 = oy - (int)lround(pts[i].tpr * PANEL);
        line(c, x0, y0, x1, y0, BLUE, 0); /* a step: FPR first, then TPR */
        line(c, x1, y0, x1, y1, BLUE, 0);
    }
    text(c, ox + PANEL / 2 - 60, oy + 26, log_x ? "FPR (LOG)" : "FPR", BLACK);
    text(c, ox + 8, MARGIN_Y + 8, "TPR", BLACK);
}

static void put_chunk(FILE *fp, const char *type, const uint8_t *d, uint32_t n)
{
    uint8_t be[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                      (uint8_t)n };
    fwrite(be, 1, 4, fp);
    fwrite(type, 1, 4, fp);
    if (n)
        fwrite(d, 1, n, fp);
    uLong crc = crc32(0, (const Bytef *)type, 4);
    crc = crc32(crc, d ? d : (const Bytef *)"", n);
    uint8_t cb[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16),
                      (uint8_t)(crc >> 8), (uint8_t)crc };
    fwrite(cb, 1, 4, fp);
}

static bool write_png(const char *path, const struct canvas *c, char *err,
                      size_t errlen)
{
    size_t raw_len = (size_t)H * (1 + W * 3);
    uint8_t *raw = malloc(raw_len);
    uLongf z_len = compressBound(raw_len);
    uint8_t *z = malloc(z_len);
    FILE *fp = raw && z ? fopen(path, "wb") : NULL;
    bool ok = fp != NULL;
    if (ok) {
        for (int y = 0; y < H; y++) {
            raw[(size_t)y * (1 + W * 3)] = 0; /* filter: none */
            memcpy(raw + (size_t)y * (1 + W * 3) + 1, c->px[y], W * 3);
        }
        ok = compress2(z, &z_len, raw, raw_len, 9) == Z_OK;
    }
    if (ok) {
        static const uint8_t sig[8] = { 137, 80, 78, 71, 13, 10, 26, 10 };
        uint8_t ihdr[13] = { 0, 0, W >> 8, W & 255, 0, 0, H >> 8, H & 255,
                             8, 2, 0, 0, 0 };
        fwrite(sig, 1, 8, fp);
        put_chunk(fp, "IHDR", ihdr, 13);
        put_chunk(fp, "IDAT", z, (uint32_t)z_len);
        put_chunk(fp, "IEND", NULL, 0);
        ok = !ferror(fp);
    }
    if (fp && fclose(fp) != 0)
        ok = false;
    if (!ok)
        snprintf(err, errlen, "%s: cannot write the PNG (%s)", path,
                 strerror(errno));
    free(raw);
    free(z);
    return ok;
}

bool roc_png_write(const char *path, const struct roc_point *pts, size_t n,
                   double auc, const char *title, char *err, size_t errlen)
{
    struct canvas *c = malloc(sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    memset(c->px, 255, sizeof(c->px));
    panel(c, MARGIN_X, pts, n, false);
    panel(c, MARGIN_X + PANEL + 2 * MARGIN_X, pts, n, true);
    char head[96];
    snprintf(head, sizeof(head), "%s  AUC %.4f", title, auc);
    text(c, MARGIN_X, 10, head, BLACK);
    bool ok = write_png(path, c, err, errlen);
    free(c);
    return ok;
}
