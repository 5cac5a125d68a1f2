"""Gradient attributions from scratch (companion.torch.attribution) against Captum, and their properties."""
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from companion.torch.attribution import gradient_x_input, integrated_gradients, saliency  # noqa: E402


def cnn_and_images(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3)).double().eval()
    return model, torch.rand(5, 1, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0])


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_equal_captum():
    captum = pytest.importorskip("captum.attr")
    model, x, target = cnn_and_images()
    assert torch.allclose(saliency(model, x, target), captum.Saliency(model).attribute(x, target=target), atol=1e-12)
    assert torch.allclose(gradient_x_input(model, x, target), captum.InputXGradient(model).attribute(x, target=target),
                          atol=1e-12)
    theirs = captum.IntegratedGradients(model).attribute(x, target=target, n_steps=24)       # Gauss-Legendre
    assert torch.allclose(integrated_gradients(model, x, target, steps=24), theirs, atol=1e-12)
    # Captum's "riemann_trapezoid" weights sum to (n - 1)/n, not 1: ours, the rule, is n/(n - 1) times larger
    theirs = captum.IntegratedGradients(model).attribute(x, target=target, n_steps=21, method="riemann_trapezoid")
    ours = integrated_gradients(model, x, target, steps=21, method="trapezoid")
    assert torch.allclose(ours * 20 / 21, theirs, atol=1e-12)


def test_integrated_gradients_add_up_to_the_score_difference():
    model, x, target = cnn_and_images(1)
    attributions = integrated_gradients(model, x, target, steps=201, method="trapezoid")   # kinks: many points
    with torch.no_grad():
        gap = (model(x) - model(torch.zeros_like(x))).gather(1, target.view(-1, 1)).squeeze(1)
    assert torch.allclose(attributions.flatten(1).sum(dim=1), gap, atol=1e-3)


def test_a_linear_model_is_explained_by_its_weights():
    torch.manual_seed(2)
    model = nn.Linear(6, 2).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    w = model.weight.detach()
    assert torch.allclose(saliency(model, x, 1), w[1].abs().expand(3, 6))
    assert torch.allclose(integrated_gradients(model, x, 1, steps=2), x * w[1])   # exact for a linear model


def test_bad_input():
    model, x, target = cnn_and_images()
    with pytest.raises(ValueError, match="one class per input"):
        saliency(model, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="floating-point tensor"):
        saliency(model, x.long(), 0)
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        integrated_gradients(model, x, target, steps=1)
    with pytest.raises(ValueError, match="method must be"):
        integrated_gradients(model, x, target, method="simpson")
    with pytest.raises(ValueError, match="baseline must have the shape of x"):
        integrated_gradients(model, x, target, baseline=torch.zeros(1, 8, 8))
