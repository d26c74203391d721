/* The whole training schedule over a data set (igd_model_fit). */
#ifndef MDL_FIT_H
#define MDL_FIT_H

#include "model/model.h"

igd_status mdl_fit(igd_model *m, const igd_dataset *train, core_err *err);
/* Trains the segmentation head (when the model has one) on images idx[0 .. n) of ds for
 * seg_steps steps or `seconds` (0: no limit), whichever ends first (segfit.c). */
igd_status mdl_seg_fit(igd_model *m, const igd_dataset *ds, const size_t *idx, size_t n,
                       double seconds, core_err *err);

#endif
