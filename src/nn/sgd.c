/* sgd: Keras' SGD (momentum, Nesterov, decoupled weight decay), and every optimiser's defaults and check, and
 * the update over the whole parameter block. The momentum-free step that layers fuse into their backward
 * passes is conv_step (nn_internal.h). */
#include <math.h>

#include "nn_internal.h"

void sgd_config_default(sgd_config *sgd)
{
    sgd->lr = 0.01f;
    sgd->momentum = 0.0f;
    sgd->nesterov = 0;
    sgd->weight_decay = 0.0f;
    sgd->kind = NN_OPT_SGD;
    sgd->beta1 = 0.9f;
    sgd->beta2 = 0.999f;
    sgd->rho = 0.9f;
    sgd->epsilon = 1e-7f;
}

/* Keras' SGD (tf.keras.optimizers.SGD, TF >= 2.11): with decay first w -= lr * wd * w, then
 *   momentum 0:  w -= lr * g
 *   momentum:    v = momentum * v - lr * g;  w += v                      (classic)
 *                                            w += momentum * v - lr * g  (Nesterov)
 * One loop per case, free of branches so the compiler can vectorise it. It is bound by memory bandwidth,
 * so it also zeroes each gradient once used: the next step then needs no separate pass to clear them. */
void sgd_update(float *restrict w, float *restrict g, float *restrict v, size_t count, const sgd_config *s)
{
    const float lr = s->lr, mom = s->momentum, decay = s->lr * s->weight_decay;
    if (decay != 0.0f)
        for (size_t i = 0; i < count; i++)
            w[i] -= decay * w[i];
    if (mom == 0.0f) {
        for (size_t i = 0; i < count; i++) {
            w[i] -= lr * g[i];
            g[i] = 0.0f;
        }
    } else if (!s->nesterov) {
        for (size_t i = 0; i < count; i++) {
            v[i] = mom * v[i] - lr * g[i];
            w[i] += v[i];
            g[i] = 0.0f;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            v[i] = mom * v[i] - lr * g[i];
            w[i] += mom * v[i] - lr * g[i];
            g[i] = 0.0f;
        }
    }
}

int sgd_check(const sgd_config *sgd, vt_err *err)
{
    if (!isfinite(sgd->lr) || sgd->lr < 0.0f || !isfinite(sgd->momentum) || sgd->momentum < 0.0f ||
        sgd->momentum >= 1.0f || !isfinite(sgd->weight_decay) || sgd->weight_decay < 0.0f)
        return vt_fail(err, VT_EUSAGE, "SGD settings out of range: lr %g, momentum %g (0 to <1), weight decay %g",
                       (double)sgd->lr, (double)sgd->momentum, (double)sgd->weight_decay);
    if (sgd->kind < NN_OPT_SGD || sgd->kind > NN_OPT_RMSPROP)
        return vt_fail(err, VT_EUSAGE, "no optimizer number %d", (int)sgd->kind);
    if (!(sgd->beta1 >= 0.0f && sgd->beta1 < 1.0f) || !(sgd->beta2 >= 0.0f && sgd->beta2 < 1.0f) ||
        !(sgd->rho >= 0.0f && sgd->rho < 1.0f) || !(sgd->epsilon > 0.0f && sgd->epsilon <= 1.0f))
        return vt_fail(err, VT_EUSAGE, "optimizer settings out of range: beta_1 %g, beta_2 %g, rho %g (0 to <1), "
                       "epsilon %g (>0 to 1)", (double)sgd->beta1, (double)sgd->beta2, (double)sgd->rho,
                       (double)sgd->epsilon);
    return VT_OK;
}

