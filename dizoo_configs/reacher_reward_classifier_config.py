# A reward classifier on the Reacher-v5 demonstrations (a LeRobot v3.0 dataset, e.g.
# tests/fixtures/lerobot/reacher_expert): success is next.reward > -0.05, i.e. the fingertip ends the step
# within about 5 cm of the target (less the small control cost). In that fixture 334 of the 2450 frames that
# have a next frame (13.6 %) are successes; balanced batches show the classifier as many of them as failures.
# Each label is paired with the NEXT frame's observation.state, the observation the env's step() returns.
# Train:  ding -m bc -c dizoo_configs/reacher_reward_classifier_config.py -s 0
# Use:    env=dict(..., reward_classifier=dict(
#             pretrained_path='reacher_reward_classifier_seed0/checkpoints/best/pretrained_model'))
# (docs/reward_classifier.md)
from easydict import EasyDict

reacher_reward_classifier_config = dict(
    exp_name="reacher_reward_classifier_seed0",
    dataset=dict(root="datasets/reacher_expert", val_ratio=0.2),
    env=dict(env_id="Reacher-v5", collector_env_num=1, evaluator_env_num=5, n_evaluator_episode=5),
    policy=dict(
        model=dict(obs_features=["observation.state"], hidden_dim=256, dropout_rate=0.1),
        learn=dict(
            batch_size=64,
            learning_rate=0.001,
            label=dict(feature="next.reward", threshold=-0.05),
            balanced=True,
            val_freq=100,
            learner=dict(train_iterations=1000, hook=dict(save_ckpt_after_iter=500)),
        ),
    ),
)
reacher_reward_classifier_config = EasyDict(reacher_reward_classifier_config)
main_config = reacher_reward_classifier_config
reacher_reward_classifier_create_config = dict(
    env=dict(type="gymnasium"),
    env_manager=dict(type="base"),
    policy=dict(type="reward_classifier"),
)
reacher_reward_classifier_create_config = EasyDict(reacher_reward_classifier_create_config)
create_config = reacher_reward_classifier_create_config
