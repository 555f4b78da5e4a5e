"""The converted MobileNetV2 against the tflite interpreter on real photos, and the backbone's shapes and modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data
from skimage.transform import resize

from msl_core.errors import BadInput
from msl_core.models.backbones.mobilenet_v2 import VISION
from msl_core.models.mobilenet_v2 import (
    DILATED_BLOCKS,
    AtrousBlock,
    convert_tflite,
    load_mobilenet_v2_classifier,
    load_mobilenet_v2_features,
    mobilenet_v2_classifier,
    mobilenet_v2_features,
)

TFLITE = Path(__file__).resolve().parents[1] / "../shared/assets/weights/mobilenet_v2_1.0_224_quant.tflite"
pytestmark = pytest.mark.skipif(not TFLITE.is_file(), reason=f"{TFLITE} not present")

PHOTOS = {"chelsea": data.chelsea, "coffee": data.coffee, "astronaut": data.astronaut, "rocket": data.rocket}


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    torch.set_num_threads(1)
    return convert_tflite(TFLITE)


def _central_crop_224(image: np.ndarray) -> np.ndarray:
    """The TF-slim evaluation preprocessing: central 87.5 % crop, bilinear resize to 224."""
    h, w = image.shape[:2]
    ch, cw = int(h * 0.875), int(w * 0.875)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = resize(image[top:top + ch, left:left + cw], (224, 224), order=1, preserve_range=True, anti_aliasing=False)
    return np.clip(np.round(crop), 0, 255).astype(np.uint8)


def _to_tensor(image: np.ndarray) -> torch.Tensor:  # (H, W, 3) uint8 -> (1, 3, H, W)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    return (x - torch.tensor(VISION.mean)[:, None, None]) / torch.tensor(VISION.std)[:, None, None]


def _tflite_logits(image: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(TFLITE), experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
    interpreter.invoke()
    # The softmax output is quantised to 1/256 (ties); the logits tensor before it is the one to compare.
    logits = next(d for d in interpreter.get_tensor_details() if d["name"].startswith("MobilenetV2/Logits/Squeeze") and d["shape"][-1] == 1001)
    scale, zero_point = logits["quantization"]
    return (interpreter.get_tensor(logits["index"]).reshape(-1).astype(np.float64) - zero_point) * scale


def test_converted_classifier_agrees_with_tflite(state):
    model = mobilenet_v2_classifier(state_dict=state)
    for name, load in PHOTOS.items():
        image = _central_crop_224(load())
        reference = _tflite_logits(image)
        with torch.no_grad():
            ours = model(_to_tensor(image))[0].numpy()
        assert ours.argmax() == reference.argmax(), name
        top5_ours, top5_ref = set(np.argsort(-ours)[:5]), set(np.argsort(-reference)[:5])
        # 8-bit activations leave near-ties in 5th place; 4 of 5 shared and logits within 1 is what fp32 vs int8 gives.
        assert len(top5_ours & top5_ref) >= 4, (name, top5_ours, top5_ref)
        assert np.abs(ours - reference).max() < 1.0, name


def test_cat_photo_is_a_cat(state):
    model = mobilenet_v2_classifier(state_dict=state)
    with torch.no_grad():
        top1 = model(_to_tensor(_central_crop_224(data.chelsea()))).argmax().item()
    assert 282 <= top1 <= 286  # 1001-way: tabby, tiger cat, Persian, Siamese, Egyptian cat (background first)


def test_dilated_backbone_shape_and_top1(state):
    features = mobilenet_v2_features(state_dict=state)
    assert features.out_channels == 1280
    with torch.no_grad():
        assert features(torch.zeros(2, 3, 256, 256)).shape == (2, 1280, 16, 16)
        image = _central_crop_224(data.coffee())
        pooled = features(_to_tensor(image)).mean(dim=(2, 3))  # (1, 1280)
        logits = pooled @ state["classifier.1.weight"].T + state["classifier.1.bias"]
        undilated = mobilenet_v2_classifier(state_dict=state)(_to_tensor(image))
    assert logits.argmax() == undilated.argmax()


@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])  # training runs channels-last
@pytest.mark.parametrize("size", [256, 232])  # a 16x16 grid (run on sub-grids) and a 15x15 one (dilated as it is)
def test_atrous_blocks_equal_their_dilated_convolutions(state, size, layout):
    features = mobilenet_v2_features(state_dict=state).train()
    blocks = [features.features[i] for i in DILATED_BLOCKS]
    assert all(isinstance(b, AtrousBlock) and _depthwise(b).dilation == (2, 2) for b in blocks)
    photos = np.stack([resize(photo(), (size, size)) for photo in PHOTOS.values()]).astype(np.float32)
    h = features.features[:15](torch.from_numpy(photos).permute(0, 3, 1, 2) * 2 - 1).detach()
    h = h.contiguous(memory_format=layout)

    def tail(dilated: bool) -> torch.Tensor:  # dilated: each block's own layers, its conv dilated by 2
        y = h
        for b in blocks:
            y = b.dilated(y) if dilated else b(y)
        return y

    with torch.no_grad():
        ours, theirs = tail(False), tail(True)
    # The same products; oneDNN may pick other kernels (summing in another order) for the sub-grids' shapes.
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6 * theirs.abs().max().item())
    grads = []
    for dilated in (False, True):
        features.zero_grad()
        h.requires_grad_().grad = None
        out = tail(dilated)
        out.square().mean().backward()
        grads.append((h.grad.clone(), _depthwise(blocks[1]).weight.grad.clone()))
    (grad_in, grad_w), (grad_in_ref, grad_w_ref) = grads
    # The gradients too: equal up to float rounding of their largest terms.
    for grad, ref in ((grad_in, grad_in_ref), (grad_w, grad_w_ref)):
        torch.testing.assert_close(grad, ref, rtol=1e-5, atol=1e-6 * ref.abs().max().item())


def _depthwise(block: AtrousBlock) -> torch.nn.Conv2d:
    return block.conv[1][0]


def test_batch_norm_stays_frozen_in_train_mode(state):
    features = mobilenet_v2_features(state_dict=state)
    x = _to_tensor(np.asarray(resize(data.astronaut(), (256, 256), preserve_range=True), np.uint8))
    with torch.no_grad():
        before = features(x)
        features.train()
        after = features(x)
    assert features.training
    assert not any(m.training for m in features.modules() if isinstance(m, torch.nn.BatchNorm2d))
    torch.testing.assert_close(before, after)
    assert torch.equal(features.features[1].conv[0][1].running_mean, state["features.1.conv.0.1.running_mean"])


def test_state_dict_file_roundtrip(state, tmp_path):
    path = tmp_path / "mnv2.pt"
    torch.save(state, path)
    assert load_mobilenet_v2_classifier(path).classifier[1].out_features == 1001
    assert load_mobilenet_v2_features(path).dilated


def test_wrong_architecture_names_file_and_keys(tmp_path):
    path = tmp_path / "resnet.pt"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, path)
    with pytest.raises(BadInput, match=r"resnet\.pt.*1 keys.*expects 314"):
        load_mobilenet_v2_classifier(path)
    with pytest.raises(BadInput, match="not found"):
        load_mobilenet_v2_features(tmp_path / "missing.pt")


def test_truncated_file_rejected(tmp_path, state):
    truncated = tmp_path / "mnv2.tflite"
    truncated.write_bytes(TFLITE.read_bytes()[:100_000])
    with pytest.raises(BadInput, match="sha256"):
        convert_tflite(truncated)
    weights = tmp_path / "mnv2.pt"
    torch.save(state, weights)
    weights.write_bytes(weights.read_bytes()[:50_000])
    with pytest.raises(BadInput, match="cannot read"):
        load_mobilenet_v2_features(weights)
