/* Preprocessing: caller images -> planar pixels at the networks' sizes, patches, normalisation. */
#include <string.h>

#include "io/resample.h"
#include "model/model.h"

void mdl_pre_global(const igd_model *m, const io_view *v, float *out)
{
    int side = m->cfg.arch[MDL_GLOBAL].size;
    io_view_to_planar(v, (size_t)m->cfg.channels, (size_t)side, (size_t)side, out);
}

void mdl_pre_image(const igd_model *m, const io_view *v, float *out)
{
    int side = m->cfg.image_size;
    io_view_to_planar(v, (size_t)m->cfg.channels, (size_t)side, (size_t)side, out);
}

void mdl_cut_patch(const float *image, int channels, int side, int patch, int y, int x, float *out)
{
    for (int c = 0; c < channels; c++)
        for (int r = 0; r < patch; r++)
            memcpy(out + ((size_t)c * patch + r) * patch,
                   image + ((size_t)c * side + y + r) * side + x, sizeof(float) * (size_t)patch);
}

int mdl_grid_count(int side, int patch, int stride)
{
    int span = side - patch;
    return span / stride + 1 + (span % stride != 0);
}

int mdl_grid_offset(int side, int patch, int stride, int i)
{
    int o = i * stride;
    return o > side - patch ? side - patch : o;
}

void mdl_normalize(const igd_model *m, const float *pix, float *out, int n, int side)
{
    const size_t plane = (size_t)side * side;
    const int ch = m->cfg.channels;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float mean = (float)m->mean[c], inv = (float)(1.0 / m->std[c]);
            const float *p = pix + ((size_t)i * ch + c) * plane;
            float *o = out + ((size_t)i * ch + c) * plane;
            for (size_t k = 0; k < plane; k++)
                o[k] = (p[k] - mean) * inv;
        }
}

void mdl_denormalize(const igd_model *m, const float *in, float *pix, int n, int side)
{
    const size_t plane = (size_t)side * side;
    const int ch = m->cfg.channels;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float mean = (float)m->mean[c], sd = (float)m->std[c];
            const float *p = in + ((size_t)i * ch + c) * plane;
            float *o = pix + ((size_t)i * ch + c) * plane;
            for (size_t k = 0; k < plane; k++)
                o[k] = p[k] * sd + mean;
        }
}
