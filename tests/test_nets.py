"""Network initialisation: the draws are exactly jax.random.normal's, in either precision."""

import jax
import numpy as np
import pytest

from ntkbook.nets import MLP, mlp_init


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_init_draws_equal_jax_random_normal_bit_for_bit(request, precision):
    # mlp_init draws each layer as the head of a power-of-two 1-D draw (few compilations);
    # this must give exactly jax.random.normal's numbers for the layer's own shape
    request.getfixturevalue(precision)
    for net in [MLP(3, 17, 2), MLP(64, 1024, 1),
                MLP(5, 8, 1, "erf", 1.3, 0.2, parameterization="standard")]:
        key = jax.random.PRNGKey(7)
        for (w, b), n_in, n_out in zip(mlp_init(net, 7), net.sizes[:-1], net.sizes[1:]):
            key, kw, kb = jax.random.split(key, 3)
            want_w = jax.random.normal(kw, (n_in, n_out))
            want_b = jax.random.normal(kb, (n_out,))
            if net.parameterization == "standard":
                want_w, want_b = want_w * net.w_std / n_in**0.5, want_b * net.b_std
            assert w.dtype == want_w.dtype == np.dtype(precision)
            assert np.array_equal(w, want_w) and np.array_equal(b, want_b)
    # a typed key takes jax.random.normal directly: the same numbers again
    typed = mlp_init(MLP(3, 17, 2), jax.random.wrap_key_data(jax.random.PRNGKey(7)))
    for (w, b), (w2, b2) in zip(typed, mlp_init(MLP(3, 17, 2), 7)):
        assert np.array_equal(w, w2) and np.array_equal(b, b2)
