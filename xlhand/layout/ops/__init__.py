"""The steps every exercise shares, each placed the by-hand way, one module per concern:

============  =====================================================================================
products      ``C = A·B``: B above C, A (and a bias column against a row of 1s) left of C
copies        blocks brought into view where a step needs them: copies, transposes, stacks
elementwise   ``fn(x)`` cell by cell right of the input: activations, masks, a gradient step
reductions    sums, means, maxima of each row or column
norms         softmax, LayerNorm, RMSNorm
attention     projections, scores, attention weights, the mixing of the values
tokens        words, one-hot columns, greedy choice
losses        cross-entropy, mean squared error
backprop      gradients of a linear layer and a ReLU, gradient descent
sequences     time steps in rows a page wide, a tanh RNN
curves        a function drawn over x, the loss over the iterations
============  =====================================================================================

Exercises call them as ``ops.NAME``. Blocks that only help the eye (a transpose, the exponentials of
a softmax, a LayerNorm's mean) carry their own NumPy expectation, computed from the oracle's values
of their inputs; blocks that an exercise names in exercises.md must come from its reference.
"""
from xlhand.layout.box import level, under
from xlhand.layout.paper import page_columns
from xlhand.layout.ops.attention import attend, attention, attention_steps, attention_under, heat, projections, scores
from xlhand.layout.ops.backprop import (gradient_descent, gradient_descent_by_layer, input_gradient, iterations,
                                        layer_gradient, relu_backward_below, weight_gradient)
from xlhand.layout.ops.copies import (carry, column_over_state, copy, copy_columns, copy_rows,
                                      row_under, stack, transpose)
from xlhand.layout.ops.curves import curve_table, loss_curve
from xlhand.layout.ops.elementwise import (elementwise, gate, leaky_relu, outer, relu, relu_backward, sgd_step,
                                           sigmoid, tanh)
from xlhand.layout.ops.losses import cross_entropy, mse_loss
from xlhand.layout.ops.norms import MINUS_INFINITY, layernorm, rmsnorm_rows, softmax
from xlhand.layout.ops.products import (Part, copied_part, copy_part, given_part, identity_part, linear, linear_act, linear_from, linear_parts,
                                        matmul, matmul_parts, ones_row, solve_dot, transposed_part,
                                        weights_left_of)
from xlhand.layout.ops.reductions import argmax_columns, col_max, col_sums, row_means, row_sums
from xlhand.layout.ops.sequences import chain_arrows, flow, tanh_rnn
from xlhand.layout.ops.shared import Operand, absolute, at_, value_of
from xlhand.layout.ops.tokens import argmax_one_hot, one_hot, one_hot_columns, split_words, word_of

__all__ = [
    "Operand", "Part", "absolute", "argmax_columns", "argmax_one_hot", "at_", "attend", "attention", "attention_steps",
    "attention_under", "carry", "chain_arrows", "col_max", "col_sums", "column_over_state", "copy",
    "copied_part", "copy_columns", "copy_part", "copy_rows", "cross_entropy", "curve_table", "elementwise", "flow", "gate",
    "given_part", "gradient_descent", "gradient_descent_by_layer", "heat", "identity_part", "input_gradient",
    "iterations", "layer_gradient", "layernorm", "leaky_relu", "level", "linear", "linear_act", "linear_from",
    "linear_parts", "loss_curve", "matmul", "matmul_parts", "mse_loss", "one_hot", "one_hot_columns", "ones_row",
    "outer", "page_columns", "projections", "relu", "relu_backward", "relu_backward_below", "rmsnorm_rows",
    "MINUS_INFINITY", "row_means", "row_sums", "row_under", "scores", "sgd_step", "sigmoid", "softmax", "solve_dot",
    "split_words", "stack", "tanh", "tanh_rnn", "transpose", "transposed_part", "under", "value_of", "weight_gradient",
    "weights_left_of", "word_of",
]
