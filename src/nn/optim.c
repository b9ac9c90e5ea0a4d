/* optim: Adam and RMSprop as Keras (keras.optimizers, Keras 3 and tf.keras >= 2.11) updates them, and the
 * dispatch from an sgd_config's kind to its update over the whole parameter block. Plain SGD's rule and
 * every optimiser's defaults and check are in sgd.c. All three apply Keras' decoupled weight decay first
 * (w -= lr * wd * w). Each loop also zeroes the gradients it used, as sgd_update does. */
#include <math.h>

#include "nn_internal.h"

static void decay(float *restrict w, size_t count, const sgd_config *s)
{
    const float d = s->lr * s->weight_decay;
    if (d != 0.0f)
        for (size_t i = 0; i < count; i++)
            w[i] -= d * w[i];
}

/* Adam, step t (from 1), Keras' form: epsilon is added to sqrt(v), and the bias correction is folded into
 * the rate ("epsilon hat" in Kingma and Ba's section 2):
 *   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
 *   m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2);  w -= alpha * m / (sqrt(v) + epsilon) */
static void adam_update(float *restrict w, float *restrict g, float *restrict m, float *restrict v, size_t count,
                        const sgd_config *s, long long t)
{
    const float b1 = s->beta1, b2 = s->beta2, eps = s->epsilon;
    const float alpha = s->lr * sqrtf(1.0f - powf(b2, (float)t)) / (1.0f - powf(b1, (float)t));
    for (size_t i = 0; i < count; i++) {
        m[i] += (g[i] - m[i]) * (1.0f - b1);
        v[i] += (g[i] * g[i] - v[i]) * (1.0f - b2);
        w[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
        g[i] = 0.0f;
    }
}

/* RMSprop (not centred), Keras' form: epsilon is added under the root:
 *   ms = rho * ms + (1 - rho) * g^2;  inc = lr * g / sqrt(ms + epsilon)
 *   momentum 0: w -= inc;  else mom = momentum * mom + inc, w -= mom */
static void rmsprop_update(float *restrict w, float *restrict g, float *restrict mom, float *restrict ms,
                           size_t count, const sgd_config *s)
{
    const float rho = s->rho, lr = s->lr, eps = s->epsilon, mu = s->momentum;
    if (mu == 0.0f) {
        for (size_t i = 0; i < count; i++) {
            ms[i] = rho * ms[i] + (1.0f - rho) * g[i] * g[i];
            w[i] -= lr * g[i] / sqrtf(ms[i] + eps);
            g[i] = 0.0f;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            ms[i] = rho * ms[i] + (1.0f - rho) * g[i] * g[i];
            mom[i] = mu * mom[i] + lr * g[i] / sqrtf(ms[i] + eps);
            w[i] -= mom[i];
            g[i] = 0.0f;
        }
    }
}

void optim_update(float *restrict w, float *restrict g, float *restrict v, float *restrict v2, size_t count,
                  const sgd_config *s, long long t)
{
    switch (s->kind) {
    case NN_OPT_ADAM:
        decay(w, count, s);
        adam_update(w, g, v, v2, count, s, t);
        break;
    case NN_OPT_RMSPROP:
        decay(w, count, s);
        rmsprop_update(w, g, v, v2, count, s);
        break;
    case NN_OPT_SGD:
    default:
        sgd_update(w, g, v, count, s);
        break;
    }
}
