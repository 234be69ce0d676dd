# SAC on pendulum from camera frames and state (env.obs_type='pixels_state', 32x32 RGB frames): each
# observation is {'image': uint8 (3, 32, 32), 'state': (3,)}; the actor and the twin critics each read the
# frame through their conv encoder (three 3x3 stride-2 convolutions) and append the state. Otherwise
# DI-engine's pendulum SAC (dizoo_configs/pendulum_sac_config.py). The pixel task of docs/rl_with_priors.md.
# Run: ding -m serial -c dizoo_configs/pendulum_pixels_sac_config.py -s 0
from easydict import EasyDict

pendulum_pixels_sac_config = dict(
    exp_name='pendulum_pixels_sac_seed0',
    env=dict(
        collector_env_num=10,
        evaluator_env_num=5,
        act_scale=True,
        n_evaluator_episode=5,
        stop_value=-250,
        obs_type='pixels_state',
        image_size=32,
    ),
    policy=dict(
        cuda=False,
        priority=False,
        random_collect_size=1000,
        model=dict(
            obs_shape={'image': [3, 32, 32], 'state': 3},
            action_shape=1,
            twin_critic=True,
            action_space='reparameterization',
            actor_head_hidden_size=128,
            critic_head_hidden_size=128,
        ),
        learn=dict(
            update_per_collect=1,
            batch_size=128,
            learning_rate_q=0.001,
            learning_rate_policy=0.001,
            learning_rate_alpha=0.0003,
            ignore_done=False,
            target_theta=0.005,
            discount_factor=0.99,
            auto_alpha=True,
        ),
        collect=dict(n_sample=10, ),
        eval=dict(evaluator=dict(eval_freq=100, )),
        other=dict(replay_buffer=dict(replay_buffer_size=100000, ), ),
    ),
)
pendulum_pixels_sac_config = EasyDict(pendulum_pixels_sac_config)
main_config = pendulum_pixels_sac_config
pendulum_pixels_sac_create_config = dict(
    env=dict(type='pendulum'),
    env_manager=dict(type='base'),
    policy=dict(type='sac'),
)
pendulum_pixels_sac_create_config = EasyDict(pendulum_pixels_sac_create_config)
create_config = pendulum_pixels_sac_create_config
