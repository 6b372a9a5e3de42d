/**
 * The writer's part for the activations of nnet_activation_extra.h (Elu, Selu, Softplus,
 * HardSigmoid): template name and config fields of a layer.
 */
import { ModelError } from '../../host/src/core/errors.js';
import type { ParamActivationLayer } from './ir.js';
// writer.ts imports this module too; exactLiteral is only called at run time, after both load.
import { exactLiteral as literal } from './writer.js';

/** Table of elu/selu's negative branch and of softplus: the sigmoid/tanh tables' size and
 * grid (1024 entries over [-8, 8)); values up to |scale * alpha| (Selu: 1.76) need 2 integer
 * bits besides the sign, LSB 2^-15. */
export const EXTRA_TABLE_TYPE = 'ap_fixed<18,3,AP_RND_CONV>';
export const EXTRA_TABLE_SIZE = 1024;
/** Softplus's table: values in [0, 8) (ln(1 + e^8) = 8.0003 at the top), LSB 2^-15. */
export const SOFTPLUS_TABLE_TYPE = 'ap_fixed<20,5,AP_RND_CONV>';
/** Selu's gamma (1.0507) and hardsigmoid's alpha and beta: LSB 2^-16, rounded once. */
export const EXTRA_PARAM_TYPE = 'ap_fixed<18,2,AP_RND_CONV>';

/**
 * The nnet function and its config fields (besides n_in and reuse_factor) for `layer`.
 * Throws `ModelError` naming the layer for parameters the templates refuse (negative or
 * table-overflowing elu alpha or gamma, hardsigmoid parameters outside the parameter type).
 */
export function activationConfig(layer: ParamActivationLayer, where: string): { fn: string; fields: string[] } {
  const table = (type: string): string[] => [`static constexpr int table_size = ${EXTRA_TABLE_SIZE};`, `typedef ${type} table_t;`];
  switch (layer.kind) {
    case 'elu':
    case 'selu':
      if (!(layer.alpha >= 0 && layer.gamma > 0 && layer.alpha * layer.gamma < 4)) {
        throw new ModelError(where, `${where}: ${layer.kind} alpha ${layer.alpha}, gamma ${layer.gamma}: need alpha >= 0, gamma > 0, alpha * gamma < 4 (the table's range)`);
      }
      return { fn: 'elu', fields: [`static constexpr double alpha = ${literal(layer.alpha, where)};`,
        `static constexpr double scale = ${literal(layer.gamma, where)};`, `typedef ${EXTRA_PARAM_TYPE} scale_t;`, ...table(EXTRA_TABLE_TYPE)] };
    case 'softplus':
      return { fn: 'softplus', fields: table(SOFTPLUS_TABLE_TYPE) };
    case 'hardsigmoid':
      if (!(Math.abs(layer.alpha) < 2 && Math.abs(layer.beta) < 2)) {
        throw new ModelError(where, `${where}: hardsigmoid alpha ${layer.alpha}, beta ${layer.beta}: need |alpha| < 2 and |beta| < 2 (${EXTRA_PARAM_TYPE})`);
      }
      return { fn: 'hard_sigmoid', fields: [`static constexpr double alpha = ${literal(layer.alpha, where)};`,
        `static constexpr double beta = ${literal(layer.beta, where)};`, `typedef ${EXTRA_PARAM_TYPE} alpha_t;`, `typedef ${EXTRA_PARAM_TYPE} beta_t;`] };
  }
}
