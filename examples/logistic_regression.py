"""Train logistic regression with symgraph, Theano style (the classic tutorial)."""
import numpy as np

import symgraph as theano
import symgraph.tensor as T


def build(rng, feats):
    """The model: shared weights, a training step with updates, a predictor."""
    x = T.dmatrix("x")
    y = T.ivector("y")
    w = theano.shared(rng.randn(feats) * 0.01, name="w")
    b = theano.shared(0.0, name="b")

    p_1 = T.nnet.sigmoid(T.dot(x, w) + b)             # probability that the target is 1
    prediction = p_1 > 0.5
    xent = T.nnet.binary_crossentropy(p_1, y)
    cost = xent.mean() + 0.01 * (w ** 2).sum()        # cost to minimize, with L2 penalty
    gw, gb = T.grad(cost, [w, b])

    train = theano.function([x, y], [prediction, xent.mean()],
                            updates=[(w, w - 0.1 * gw), (b, b - 0.1 * gb)], name="train")
    predict = theano.function([x], prediction, name="predict")
    return train, predict, w, b


def make_data(rng, n, feats):
    return rng.randn(n, feats), rng.randint(size=n, low=0, high=2).astype("int32")


def main():
    rng = np.random.RandomState(42)
    D = make_data(rng, 400, 784)
    train, predict, _, _ = build(rng, 784)
    for step in range(200):
        pred, err = train(D[0], D[1])
        if step % 50 == 0:
            print(f"step {step:3d}  cross-entropy {err:.4f}")
    print(f"training accuracy: {(predict(D[0]) == D[1]).mean():.3f}")


if __name__ == "__main__":
    main()
