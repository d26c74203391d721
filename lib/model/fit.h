/* The whole training schedule over a data set (igd_model_fit). */
#ifndef MDL_FIT_H
#define MDL_FIT_H

#include "model/model.h"

igd_status mdl_fit(igd_model *m, const igd_dataset *train, core_err *err);

#endif
