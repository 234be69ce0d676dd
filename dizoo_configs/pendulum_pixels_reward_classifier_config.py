# A reward classifier on the pixel pendulum demonstrations (datasets/pendulum_pixels_expert): success is
# next.reward > -0.1, i.e. the pendulum is held within about 0.3 rad of upright. It reads the next frame's
# 32x32 image (three 3x3 stride-2 convolutions) and state, as the env's pixels_state observation gives them.
# Train:  ding -m bc -c dizoo_configs/pendulum_pixels_reward_classifier_config.py -s 0
# Use:    env=dict(..., reward_classifier=dict(
#             pretrained_path='pendulum_pixels_reward_classifier_seed0/checkpoints/best/pretrained_model'))
from easydict import EasyDict

pendulum_pixels_reward_classifier_config = dict(
    exp_name='pendulum_pixels_reward_classifier_seed0',
    dataset=dict(root='datasets/pendulum_pixels_expert', val_ratio=0.2),
    env=dict(collector_env_num=1, evaluator_env_num=5, n_evaluator_episode=5, obs_type='pixels_state', image_size=32),
    policy=dict(
        model=dict(obs_features=['observation.image', 'observation.state'], hidden_dim=256, dropout_rate=0.1),
        learn=dict(
            batch_size=64,
            learning_rate=0.001,
            label=dict(feature='next.reward', threshold=-0.1),
            balanced=True,
            val_freq=100,
            learner=dict(train_iterations=1000, hook=dict(save_ckpt_after_iter=500)),
        ),
    ),
)
pendulum_pixels_reward_classifier_config = EasyDict(pendulum_pixels_reward_classifier_config)
main_config = pendulum_pixels_reward_classifier_config
pendulum_pixels_reward_classifier_create_config = dict(
    env=dict(type='pendulum'),
    env_manager=dict(type='base'),
    policy=dict(type='reward_classifier'),
)
pendulum_pixels_reward_classifier_create_config = EasyDict(pendulum_pixels_reward_classifier_create_config)
create_config = pendulum_pixels_reward_classifier_create_config
