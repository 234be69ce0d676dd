"""By hand, not in CI: does LeRobot 0.4.4 load a ding_lite ACT export and act exactly as ding_lite does?

Run in a separate venv holding lerobot==0.4.4 (it pins torch < 2.11), offline:

    HF_HUB_OFFLINE=1 LEROBOT_VENV/bin/python tools/check_act_in_lerobot.py FOLDER out.npy
    .venv/bin/python tools/check_act_in_lerobot.py --compare FOLDER out.npy

The first command loads FOLDER (a ``pretrained_model/``) with LeRobot's ``ACTPolicy.from_pretrained`` and its
pre/post-processor pipelines, prints every warning raised, and saves LeRobot's action chunks for the 64
observations of tests/fixtures/lerobot/act_reacher/reference_actions.npz. The second computes ding_lite's
chunks for the same observations and prints the largest difference.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).resolve().parents[1] / "tests/fixtures/lerobot/act_reacher/reference_actions.npz"


def lerobot_chunks(folder: str) -> np.ndarray:
    import torch
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.processor import PolicyProcessorPipeline
    from lerobot.processor.converters import policy_action_to_transition, transition_to_policy_action

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        policy = ACTPolicy.from_pretrained(folder)
        pre = PolicyProcessorPipeline.from_pretrained(folder, config_filename="policy_preprocessor.json")
        post = PolicyProcessorPipeline.from_pretrained(
            folder, config_filename="policy_postprocessor.json",
            to_transition=policy_action_to_transition, to_output=transition_to_policy_action,
        )  # fmt: skip
    print("warnings while loading:", [str(w.message) for w in caught])
    reference = np.load(REFERENCE)
    batch = {
        "observation.state": torch.from_numpy(reference["observation_state"]),
        "observation.environment_state": torch.from_numpy(reference["observation_environment_state"]),
    }
    return post(policy.predict_action_chunk(pre(batch))).detach().numpy()


def ding_lite_chunks(folder: str) -> np.ndarray:
    from ding_lite.act.policy import ACTPolicy

    reference = np.load(REFERENCE)
    policy = ACTPolicy.from_pretrained(folder)
    batch = {"observation.state": reference["observation_state"],
             "observation.environment_state": reference["observation_environment_state"]}  # fmt: skip
    return policy.predict_action_chunk(batch).numpy()


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        theirs = np.load(sys.argv[3])
        ours = ding_lite_chunks(sys.argv[2])
        print(f"largest |LeRobot - ding_lite|: {np.abs(theirs - ours).max():.3g} over {ours.shape}")
    else:
        np.save(sys.argv[2], lerobot_chunks(sys.argv[1]))
