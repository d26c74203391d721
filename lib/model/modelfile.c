/* Model file writer and reader.
 *
 *   header   "IGDMODEL", u32 version, u32 flags, u64 payload bytes
 *   payload  sections: u32 tag, u32 zero, u64 length, then length bytes
 *   trailer  u32 CRC-32 of header and payload, "IGDE"
 *
 * Sections: OPTS (every option), NORM (pixel normalisation), CALI (threshold), NETG / NETL (a
 * sub-model: classifier state and the parameters of encoder, decoder and critic, optionally with
 * Adam's moments), MEMG / MEML (a sub-model's patch memory, when it has one), SEGN (the
 * segmentation head's parameters, when the model has one; format version 2). Integers and floats
 * are little-endian; floats are IEEE-754. */
#include "model/modelfile.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/file.h"

#define MAGIC "IGDMODEL"
#define END_MAGIC "IGDE"
enum { HEADER = 24, TRAILER = 8, SECTION = 16 };
enum { NET_STATS = 1, NET_CENTER_FIXED = 2 };

static uint32_t tag(const char s[4])
{
    return (uint32_t)(unsigned char)s[0] | (uint32_t)(unsigned char)s[1] << 8 |
           (uint32_t)(unsigned char)s[2] << 16 | (uint32_t)(unsigned char)s[3] << 24;
}

/* ---- writing: the same code counts (buf NULL) and writes ---- */

typedef struct wr {
    unsigned char *buf;
    size_t pos;
} wr;

static void put(wr *w, const void *p, size_t n)
{
    if (w->buf)
        memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

static void put_u32(wr *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(w, b, 4);
}

static void put_u64(wr *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_f64(wr *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(w, u);
}

static void put_floats(wr *w, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        put_u32(w, u);
    }
}

/* Opens a section; returns the position of its length field for end_section. */
static size_t begin_section(wr *w, const char name[4])
{
    put_u32(w, tag(name));
    put_u32(w, 0);
    size_t at = w->pos;
    put_u64(w, 0);
    return at;
}

static void end_section(wr *w, size_t at)
{
    if (!w->buf)
        return;
    wr fix = {w->buf, at};
    put_u64(&fix, (uint64_t)(w->pos - at - 8));
}

static void write_store(wr *w, const nn_params *p)
{
    put_u32(w, (uint32_t)p->count);
    for (size_t i = 0; i < p->count; i++) {
        const nn_param *q = &p->items[i];
        put_u32(w, (uint32_t)q->ndims);
        for (int d = 0; d < q->ndims; d++)
            put_u64(w, (uint64_t)q->dims[d]);
        put_u32(w, (uint32_t)q->trainable);
        put_floats(w, p->value + q->offset, q->count);
    }
}

static void write_moments(wr *w, const nn_params *p)
{
    put_u64(w, p->steps);
    for (size_t i = 0; i < p->count; i++) {
        const nn_param *q = &p->items[i];
        if (!q->trainable)
            continue;
        put_floats(w, p->m + q->offset, q->count);
        put_floats(w, p->v + q->offset, q->count);
    }
}

static void write_memory(wr *w, const mdl_memory *mem)
{
    put_u32(w, (uint32_t)mem->latent);
    put_u64(w, (uint64_t)mem->positions);
    for (size_t p = 0; p < mem->positions; p++) {
        put_u32(w, (uint32_t)mem->y[p]);
        put_u32(w, (uint32_t)mem->x[p]);
        put_u64(w, (uint64_t)mem->count[p]);
        put_f64(w, mem->scale[p]);
    }
    for (size_t p = 0; p < mem->positions; p++)
        put_floats(w, mem->z[p], mem->count[p] * (size_t)mem->latent);
}

static void write_model(const igd_model *m, unsigned flags, wr *w)
{
    put(w, MAGIC, 8);
    put_u32(w, MDL_FORMAT_VERSION);
    put_u32(w, flags);
    size_t payload_at = w->pos;
    put_u64(w, 0);

    size_t s = begin_section(w, "OPTS");
    put_u32(w, OPT_COUNT);
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const opt_def *d = opt_find(opt_key_at((int)i));
        put_u32(w, (uint32_t)d->key);
        put_u32(w, (uint32_t)d->type);
        if (d->type == IGD_TYPE_INT)
            put_u64(w, (uint64_t)m->opts.v[i].i);
        else
            put_f64(w, m->opts.v[i].r);
    }
    end_section(w, s);

    s = begin_section(w, "NORM");
    put_u32(w, (uint32_t)m->cfg.channels);
    for (int c = 0; c < m->cfg.channels; c++) {
        put_f64(w, m->mean[c]);
        put_f64(w, m->std[c]);
    }
    end_section(w, s);

    s = begin_section(w, "CALI");
    put_u32(w, m->has_threshold);
    put_f64(w, m->threshold);
    end_section(w, s);

    for (int id = 0; id < MDL_NETS; id++) {
        if (!mdl_has(m, id))
            continue;
        const mdl_net *n = &m->net[id];
        s = begin_section(w, id == MDL_GLOBAL ? "NETG" : "NETL");
        put_u32(w, (uint32_t)n->arch.latent);
        put_u32(w, (n->has_stats ? NET_STATS : 0) | (n->center_fixed ? NET_CENTER_FIXED : 0));
        put_u64(w, n->steps);
        put_f64(w, n->spread);
        put_floats(w, n->center, (size_t)n->arch.latent);
        const nn_params *stores[3] = {&n->enc, &n->dec, &n->critic};
        for (int k = 0; k < 3; k++)
            write_store(w, stores[k]);
        if (flags & IGD_SAVE_OPTIMIZER)
            for (int k = 0; k < 3; k++)
                write_moments(w, stores[k]);
        end_section(w, s);
        if (n->memory.positions) {
            s = begin_section(w, id == MDL_GLOBAL ? "MEMG" : "MEML");
            write_memory(w, &n->memory);
            end_section(w, s);
        }
    }
    if (mdl_seg_exists(m)) {
        s = begin_section(w, "SEGN");
        put_u64(w, m->seg.steps);
        write_store(w, &m->seg.params);
        if (flags & IGD_SAVE_OPTIMIZER)
            write_moments(w, &m->seg.params);
        end_section(w, s);
    }
    if (w->buf) {
        wr fix = {w->buf, payload_at};
        put_u64(&fix, (uint64_t)(w->pos - HEADER));
    }
    uint32_t crc = w->buf ? (uint32_t)crc32(crc32(0L, Z_NULL, 0), w->buf, (uInt)w->pos) : 0;
    put_u32(w, crc);
    put(w, END_MAGIC, 4);
}

size_t mdl_save_size(const igd_model *m, unsigned flags)
{
    wr w = {NULL, 0};
    write_model(m, flags, &w);
    return w.pos;
}

static bool floats_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

/* The checks of mdl_load_buffer on the values a file would hold: a model that would not load is
 * never written. */
static igd_status check_saveable(const igd_model *m, unsigned flags, core_err *err)
{
    for (int c = 0; c < m->cfg.channels; c++)
        if (!(fabs(m->mean[c]) <= 1e3 && m->std[c] >= 1e-6 && m->std[c] <= 1e3))
            return core_fail(err, IGD_ERR_NUMERIC,
                             "not saved: the normalisation of channel %d (mean %g, std %g) is "
                             "out of range",
                             c, m->mean[c], m->std[c]);
    if (m->has_threshold && !(m->threshold > 0 && isfinite(m->threshold)))
        return core_fail(err, IGD_ERR_NUMERIC, "not saved: the threshold %g is invalid",
                         m->threshold);
    for (int id = 0; id < MDL_NETS; id++) {
        if (!mdl_has(m, id))
            continue;
        const mdl_net *n = &m->net[id];
        const char *what = id == MDL_GLOBAL ? "global" : "local";
        const nn_params *stores[3] = {&n->enc, &n->dec, &n->critic};
        bool ok = n->spread > 0 && isfinite(n->spread) &&
                  floats_finite(n->center, (size_t)n->arch.latent);
        for (int k = 0; k < 3 && ok; k++)
            ok = nn_params_finite(stores[k], false, (flags & IGD_SAVE_OPTIMIZER) != 0);
        for (size_t p = 0; p < n->memory.positions && ok; p++) {
            const mdl_memory *mem = &n->memory;
            ok = mem->scale[p] >= MDL_MEMORY_SCALE_MIN && mem->scale[p] <= MDL_MEMORY_SCALE_MAX &&
                 floats_finite(mem->z[p], mem->count[p] * (size_t)mem->latent);
            for (size_t i = 0; i < mem->count[p] && ok; i++)
                ok = mem->norm[p][i] <= FLT_MAX;
        }
        if (!ok)
            return core_fail(err, IGD_ERR_NUMERIC,
                             "not saved: the %s model holds a number that is not finite (its "
                             "training diverged or its state is damaged)",
                             what);
    }
    if (mdl_seg_exists(m) &&
        !nn_params_finite(&m->seg.params, false, (flags & IGD_SAVE_OPTIMIZER) != 0))
        return core_fail(err, IGD_ERR_NUMERIC,
                         "not saved: the segmentation head holds a number that is not finite "
                         "(its training diverged or its state is damaged)");
    return IGD_OK;
}

igd_status mdl_save_buffer(const igd_model *m, unsigned flags, void *buffer, size_t size,
                           core_err *err)
{
    if (size > UINT32_MAX)
        return core_fail(err, IGD_ERR_UNSUPPORTED, "models over 4 GiB are not supported");
    CORE_TRY(check_saveable(m, flags, err));
    wr w = {buffer, 0};
    write_model(m, flags, &w);
    return IGD_OK;
}

typedef struct save_job {
    const void *data;
    size_t size;
    const char *path;
} save_job;

static igd_status write_all(FILE *f, void *user, core_err *err)
{
    const save_job *job = user;
    errno = 0;
    if (fwrite(job->data, 1, job->size, f) != job->size)
        return io_fail_errno(err, errno ? errno : EIO, "writing the model to", job->path);
    return IGD_OK;
}

igd_status mdl_save_file(const igd_model *m, const char *path, unsigned flags, core_err *err)
{
    size_t size = mdl_save_size(m, flags);
    void *buf = core_malloc(size);
    if (!buf)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu bytes to save", size);
    igd_status st = mdl_save_buffer(m, flags, buf, size, err);
    save_job job = {buf, size, path};
    if (st == IGD_OK)
        st = io_write_atomic(path, write_all, &job, err);
    core_free(buf);
    return st;
}

/* ---- reading: a bounds-checked cursor ---- */

typedef struct rd {
    const unsigned char *p;
    size_t pos, end;
    core_err *err;
    igd_status st;
} rd;

static bool need(rd *r, size_t n, const char *what)
{
    if (r->st != IGD_OK)
        return false;
    if (n > r->end - r->pos) {
        r->st = core_fail(r->err, IGD_ERR_CORRUPT, "the model file ends inside %s (offset %zu)",
                          what, r->pos);
        return false;
    }
    return true;
}

static uint32_t get_u32(rd *r, const char *what)
{
    if (!need(r, 4, what))
        return 0;
    const unsigned char *b = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(rd *r, const char *what)
{
    uint64_t lo = get_u32(r, what);
    return lo | (uint64_t)get_u32(r, what) << 32;
}

static double get_f64(rd *r, const char *what)
{
    uint64_t u = get_u64(r, what);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static igd_status bad(rd *r, const char *fmt, const char *what)
{
    if (r->st == IGD_OK)
        r->st = core_fail(r->err, IGD_ERR_CORRUPT, fmt, what);
    return r->st;
}

static void get_floats(rd *r, float *out, size_t n, const char *what)
{
    size_t bytes;
    if (!core_mul_size(n, 4, &bytes) || !need(r, bytes, what))
        return;
    for (size_t i = 0; i < n && r->st == IGD_OK; i++) {
        uint32_t u = get_u32(r, what);
        memcpy(&out[i], &u, 4);
        if (!isfinite(out[i]))
            bad(r, "a non-finite number in %s", what);
    }
}

static void read_store(rd *r, nn_params *p, const char *what)
{
    uint32_t count = get_u32(r, what);
    if (r->st == IGD_OK && count != p->count) {
        bad(r, "%s does not match the architecture the options describe", what);
        return;
    }
    for (size_t i = 0; i < p->count && r->st == IGD_OK; i++) {
        const nn_param *q = &p->items[i];
        uint32_t nd = get_u32(r, what);
        if (nd != (uint32_t)q->ndims)
            bad(r, "%s: a parameter's rank differs from the architecture", what);
        for (int d = 0; d < q->ndims && r->st == IGD_OK; d++)
            if (get_u64(r, what) != (uint64_t)q->dims[d])
                bad(r, "%s: a parameter's shape differs from the architecture", what);
        if (get_u32(r, what) != (uint32_t)q->trainable)
            bad(r, "%s: a parameter's kind differs from the architecture", what);
        get_floats(r, p->value + q->offset, q->count, what);
    }
    nn_params_touch(p);
}

static void read_moments(rd *r, nn_params *p, const char *what)
{
    p->steps = get_u64(r, what);
    for (size_t i = 0; i < p->count && r->st == IGD_OK; i++) {
        const nn_param *q = &p->items[i];
        if (!q->trainable)
            continue;
        get_floats(r, p->m + q->offset, q->count, what);
        get_floats(r, p->v + q->offset, q->count, what);
    }
}

static void read_net(rd *r, igd_model *m, int id, bool moments)
{
    mdl_net *n = &m->net[id];
    const char *what = id == MDL_GLOBAL ? "the global model" : "the local model";
    if (get_u32(r, what) != (uint32_t)n->arch.latent) {
        bad(r, "%s: the latent size differs from the options", what);
        return;
    }
    uint32_t flags = get_u32(r, what);
    if (flags & ~(uint32_t)(NET_STATS | NET_CENTER_FIXED))
        bad(r, "%s: unknown flags", what);
    n->has_stats = flags & NET_STATS;
    n->center_fixed = flags & NET_CENTER_FIXED;
    n->steps = get_u64(r, what);
    n->spread = get_f64(r, what);
    if (r->st == IGD_OK && !(n->spread > 0 && isfinite(n->spread)))
        bad(r, "%s: the classifier's spread is not a positive number", what);
    get_floats(r, n->center, (size_t)n->arch.latent, what);
    nn_params *stores[3] = {&n->enc, &n->dec, &n->critic};
    for (int k = 0; k < 3; k++)
        read_store(r, stores[k], what);
    if (moments)
        for (int k = 0; k < 3; k++)
            read_moments(r, stores[k], what);
}

/* A patch memory: positions inside the resized image (the global model's only at 0, 0), each
 * with at least one latent, and exactly as many floats as the counts say, all finite. Sizes are
 * checked against the section before anything is allocated. */
static void read_memory(rd *r, igd_model *m, int id)
{
    mdl_net *n = &m->net[id];
    const char *what = id == MDL_GLOBAL ? "the global model's memory" : "the local model's memory";
    if (get_u32(r, what) != (uint32_t)n->arch.latent) {
        bad(r, "%s: the latent size differs from the options", what);
        return;
    }
    uint64_t positions = get_u64(r, what);
    if (r->st != IGD_OK)
        return;
    if (positions == 0 || positions > (r->end - r->pos) / 24 ||
        (id == MDL_GLOBAL && positions != 1)) {
        bad(r, "%s: the number of positions is invalid", what);
        return;
    }
    const size_t np = (size_t)positions, L = (size_t)n->arch.latent;
    const int limit = id == MDL_GLOBAL ? 0 : m->cfg.image_size - n->arch.size;
    int *y = core_calloc(np, sizeof *y), *x = core_calloc(np, sizeof *x);
    size_t *count = core_calloc(np, sizeof *count);
    double *scale = core_calloc(np, sizeof *scale);
    size_t total = 0, bytes = 0;
    if (!y || !x || !count || !scale)
        r->st = core_fail(r->err, IGD_ERR_OUT_OF_MEMORY, "allocating a patch memory");
    for (size_t p = 0; p < np && r->st == IGD_OK; p++) {
        uint32_t py = get_u32(r, what), px = get_u32(r, what);
        uint64_t c = get_u64(r, what);
        scale[p] = get_f64(r, what);
        if (r->st != IGD_OK)
            break;
        if (!(scale[p] >= MDL_MEMORY_SCALE_MIN && scale[p] <= MDL_MEMORY_SCALE_MAX))
            bad(r, "%s: a position's scale is out of range", what);
        if (py > (uint32_t)limit || px > (uint32_t)limit)
            bad(r, "%s: a position lies outside the image", what);
        else if (c == 0 || c > (r->end - r->pos) / 4 || !core_add_size(total, (size_t)c, &total))
            bad(r, "%s: a position's latent count is invalid", what);
        y[p] = (int)py;
        x[p] = (int)px;
        count[p] = (size_t)c;
    }
    if (r->st == IGD_OK && (!core_mul4_size(total, L, 4, 1, &bytes) || bytes != r->end - r->pos))
        bad(r, "%s: the latent counts do not match the section's size", what);
    if (r->st == IGD_OK)
        r->st = mdl_memory_init(&n->memory, n->arch.latent, np, y, x, r->err);
    for (size_t p = 0; p < np && r->st == IGD_OK; p++) {
        r->st = mdl_memory_reserve(&n->memory, p, count[p], r->err);
        if (r->st != IGD_OK)
            break;
        n->memory.count[p] = count[p];
        n->memory.scale[p] = scale[p];
        get_floats(r, n->memory.z[p], count[p] * L, what);
    }
    if (r->st == IGD_OK && !mdl_memory_seal(&n->memory))
        bad(r, "%s: a latent's norm overflows", what);
    core_free(y);
    core_free(x);
    core_free(count);
    core_free(scale);
}

/* Options: every stored key must be known, typed right and in bounds. */
static void read_options(rd *r, igd_options *opts)
{
    opt_defaults(opts);
    bool seen[OPT_COUNT] = {false};
    uint32_t count = get_u32(r, "the options");
    if (r->st == IGD_OK && count > 4096)
        bad(r, "%s: implausibly many", "the options");
    for (uint32_t i = 0; i < count && r->st == IGD_OK; i++) {
        uint32_t key = get_u32(r, "the options"), type = get_u32(r, "the options");
        uint64_t raw = get_u64(r, "the options");
        const opt_def *d = opt_find((igd_option)key);
        if (r->st != IGD_OK)
            break;
        if (!d) {
            r->st = core_fail(r->err, IGD_ERR_UNSUPPORTED, "the model file sets unknown option %u",
                              key);
            break;
        }
        if (type != (uint32_t)d->type) {
            bad(r, "%s: an option's type is wrong", "the options");
            break;
        }
        if (seen[opt_index(d->key)]) {
            bad(r, "%s: an option appears twice", "the options");
            break;
        }
        seen[opt_index(d->key)] = true;
        double v;
        memcpy(&v, &raw, 8);
        igd_status st = d->type == IGD_TYPE_INT ? opt_set_int(opts, d->key, (int64_t)raw, r->err)
                                                : opt_set_real(opts, d->key, v, r->err);
        if (st != IGD_OK)
            r->st = core_fail(r->err, IGD_ERR_CORRUPT, "the model file's option '%s' is invalid",
                              d->name);
    }
}

/* The [runtime] options the caller set override the file's; the others keep the file's values. */
static void apply_runtime(igd_options *opts, const igd_options *runtime)
{
    if (!runtime)
        return;
    for (int i = 0; i < OPT_COUNT; i++) {
        if (opt_find(opt_key_at(i))->runtime && runtime->set[i])
            opts->v[i] = runtime->v[i];
    }
}

typedef struct sections {
    size_t at[8], len[8];
    bool seen[8];
} sections;

static const char *const section_names[] = {"OPTS", "NORM", "CALI", "NETG",
                                            "NETL", "MEMG", "MEML", "SEGN"};
enum { S_OPTS, S_NORM, S_CALI, S_NETG, S_NETL, S_MEMG, S_MEML, S_SEGN, S_COUNT };

static igd_status read_header(rd *r, uint32_t *flags)
{
    if (r->end < HEADER + TRAILER || memcmp(r->p, MAGIC, 8) != 0)
        return r->st = core_fail(r->err, IGD_ERR_CORRUPT, "not a libigd model file");
    r->pos = 8;
    uint32_t version = get_u32(r, "the header");
    if (version == 0)
        return r->st = core_fail(r->err, IGD_ERR_CORRUPT, "the model file's version is 0");
    if (version > MDL_FORMAT_VERSION)
        return r->st = core_fail(r->err, IGD_ERR_UNSUPPORTED,
                                 "the model file has format version %u; this library reads up "
                                 "to %d",
                                 version, MDL_FORMAT_VERSION);
    *flags = get_u32(r, "the header");
    uint64_t payload = get_u64(r, "the header");
    if (*flags & ~(uint32_t)IGD_SAVE_OPTIMIZER)
        return r->st = core_fail(r->err, IGD_ERR_CORRUPT, "unknown flags in the model file");
    if (payload != r->end - HEADER - TRAILER)
        return r->st = core_fail(r->err, IGD_ERR_CORRUPT,
                                 "the model file has %zu bytes (a payload of %zu); its header "
                                 "says a payload of %llu bytes",
                                 r->end, r->end - HEADER - TRAILER, (unsigned long long)payload);
    if (memcmp(r->p + r->end - 4, END_MAGIC, 4) != 0)
        return r->st = core_fail(r->err, IGD_ERR_CORRUPT, "the model file's end mark is missing");
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), r->p, (uInt)(r->end - TRAILER));
    rd t = {r->p, r->end - TRAILER, r->end, r->err, IGD_OK};
    if (get_u32(&t, "the trailer") != crc)
        return r->st = core_fail(r->err, IGD_ERR_CORRUPT,
                                 "the model file's checksum does not match its contents");
    r->end -= TRAILER;
    return IGD_OK;
}

static igd_status find_sections(rd *r, sections *s)
{
    memset(s, 0, sizeof *s);
    while (r->st == IGD_OK && r->pos < r->end) {
        uint32_t t = get_u32(r, "a section header");
        uint32_t zero = get_u32(r, "a section header");
        uint64_t len = get_u64(r, "a section header");
        if (r->st != IGD_OK)
            break;
        if (zero != 0 || len > r->end - r->pos)
            return bad(r, "%s is damaged", "a section header");
        int k = -1;
        for (int i = 0; i < S_COUNT; i++)
            if (t == tag(section_names[i]))
                k = i;
        if (k < 0)
            return r->st = core_fail(r->err, IGD_ERR_UNSUPPORTED,
                                     "the model file has an unknown section");
        if (s->seen[k])
            return bad(r, "%s appears twice", section_names[k]);
        s->seen[k] = true;
        s->at[k] = r->pos;
        s->len[k] = (size_t)len;
        r->pos += (size_t)len;
    }
    return r->st;
}

/* A reader over one section, which must be consumed exactly. */
static rd section(rd *r, const sections *s, int k)
{
    rd sub = {r->p, s->at[k], s->at[k] + s->len[k], r->err, r->st};
    return sub;
}

static igd_status finish_section(rd *sub, const char *name)
{
    if (sub->st == IGD_OK && sub->pos != sub->end)
        return bad(sub, "section %s has trailing bytes", name);
    return sub->st;
}

igd_status mdl_load_buffer(const void *data, size_t size, const igd_options *runtime,
                           igd_model **out, core_err *err)
{
    *out = NULL;
    rd r = {data, 0, size, err, IGD_OK};
    uint32_t flags = 0;
    sections s;
    CORE_TRY(read_header(&r, &flags));
    r.pos = HEADER;
    CORE_TRY(find_sections(&r, &s));
    for (int k = 0; k < S_NETG; k++)
        if (!s.seen[k])
            return bad(&r, "section %s is missing", section_names[k]);

    igd_options opts;
    rd sub = section(&r, &s, S_OPTS);
    read_options(&sub, &opts);
    CORE_TRY(finish_section(&sub, "OPTS"));
    apply_runtime(&opts, runtime);
    int nets = (int)opt_int(&opts, IGD_OPT_NETS);
    if (s.seen[S_NETG] != ((nets & IGD_NET_GLOBAL) != 0) ||
        s.seen[S_NETL] != ((nets & IGD_NET_LOCAL) != 0) || (s.seen[S_MEMG] && !s.seen[S_NETG]) ||
        (s.seen[S_MEML] && !s.seen[S_NETL]) ||
        s.seen[S_SEGN] != (opt_int(&opts, IGD_OPT_SEG_WIDTH) > 0))
        return bad(&r, "%s", "the model file's sub-models differ from its options");

    igd_model *m;
    igd_status st = mdl_create_limited(&opts, size, &m, err);
    if (st == IGD_ERR_INVALID_ARGUMENT)
        st = core_fail(err, IGD_ERR_CORRUPT, "the model file's options are inconsistent: %s",
                       err->msg);
    CORE_TRY(st);
    /* The file's thread count is kept (it saves back as it was) but not applied. */
    m->file_threads = !(runtime && runtime->set[opt_index(IGD_OPT_THREADS)]);

    sub = section(&r, &s, S_NORM);
    if (get_u32(&sub, "NORM") != (uint32_t)m->cfg.channels)
        bad(&sub, "%s: the channel count differs from the options", "NORM");
    for (int c = 0; c < m->cfg.channels && sub.st == IGD_OK; c++) {
        m->mean[c] = get_f64(&sub, "NORM");
        m->std[c] = get_f64(&sub, "NORM");
        if (sub.st == IGD_OK && !(fabs(m->mean[c]) <= 1e3 && m->std[c] >= 1e-6 && m->std[c] <= 1e3))
            bad(&sub, "%s: a normalisation constant is out of range", "NORM");
    }
    st = finish_section(&sub, "NORM");
    if (st == IGD_OK) {
        sub = section(&r, &s, S_CALI);
        uint32_t has = get_u32(&sub, "CALI");
        m->threshold = get_f64(&sub, "CALI");
        m->has_threshold = has != 0;
        if (sub.st == IGD_OK && (has > 1 || (has && !(m->threshold > 0 && isfinite(m->threshold)))))
            bad(&sub, "%s: the threshold is invalid", "CALI");
        st = finish_section(&sub, "CALI");
    }
    for (int id = 0; id < MDL_NETS && st == IGD_OK; id++) {
        if (!mdl_has(m, id))
            continue;
        sub = section(&r, &s, id == MDL_GLOBAL ? S_NETG : S_NETL);
        read_net(&sub, m, id, flags & IGD_SAVE_OPTIMIZER);
        st = finish_section(&sub, section_names[id == MDL_GLOBAL ? S_NETG : S_NETL]);
        const int k = id == MDL_GLOBAL ? S_MEMG : S_MEML;
        if (st == IGD_OK && s.seen[k]) {
            sub = section(&r, &s, k);
            read_memory(&sub, m, id);
            st = finish_section(&sub, section_names[k]);
        }
    }
    if (st == IGD_OK && s.seen[S_SEGN]) {
        sub = section(&r, &s, S_SEGN);
        m->seg.steps = get_u64(&sub, "the segmentation head");
        read_store(&sub, &m->seg.params, "the segmentation head");
        if (flags & IGD_SAVE_OPTIMIZER)
            read_moments(&sub, &m->seg.params, "the segmentation head");
        st = finish_section(&sub, "SEGN");
    }
    if (st != IGD_OK) {
        mdl_free(m);
        return st;
    }
    *out = m;
    return IGD_OK;
}

/* The header of a file, checked before the file is read whole: the magic, the version and the
 * payload length against the file's size. */
static igd_status check_head(const unsigned char *head, size_t got, uint64_t file_size, void *user,
                             core_err *err)
{
    (void)user;
    if (got < HEADER || file_size < HEADER + TRAILER || memcmp(head, MAGIC, 8) != 0)
        return core_fail(err, IGD_ERR_CORRUPT, "not a libigd model file");
    rd r = {head, 8, HEADER, err, IGD_OK};
    uint32_t version = get_u32(&r, "the header");
    get_u32(&r, "the header");
    uint64_t payload = get_u64(&r, "the header");
    if (version == 0 || version > MDL_FORMAT_VERSION)
        return IGD_OK; /* the whole file's check says which */
    if (payload != file_size - HEADER - TRAILER)
        return core_fail(err, IGD_ERR_CORRUPT,
                         "the model file has %llu bytes (a payload of %llu); its header says a "
                         "payload of %llu bytes",
                         (unsigned long long)file_size,
                         (unsigned long long)(file_size - HEADER - TRAILER),
                         (unsigned long long)payload);
    return IGD_OK;
}

igd_status mdl_load_file(const char *path, const igd_options *runtime, igd_model **out,
                         core_err *err)
{
    unsigned char *data;
    size_t size;
    igd_status rst =
        io_read_file_checked(path, (size_t)1 << 34, HEADER, check_head, NULL, &data, &size, err);
    if (rst != IGD_OK) {
        if (rst == IGD_ERR_CORRUPT)
            core_wrap(err, "loading %s", path);
        return rst;
    }
    igd_status st = mdl_load_buffer(data, size, runtime, out, err);
    core_free(data);
    if (st != IGD_OK)
        core_wrap(err, "loading %s", path);
    return st;
}
