# Pixel SAC on pendulum (dizoo_configs/pendulum_pixels_sac_config.py) with every prior (issue 12;
# docs/rl_with_priors.md). Before it, in the same directory, with 32x32 pixels_state demonstrations at
# datasets/pendulum_pixels_expert (bench/bench_priors.py --task pendulum_pixels records them):
#   ding -m bc -c dizoo_configs/pendulum_pixels_bc_config.py -s 0                  # its convolutions start SAC's
#   ding -m bc -c dizoo_configs/pendulum_pixels_reward_classifier_config.py -s 0   # the success classifier
# Then:
#   ding -m serial -c dizoo_configs/pendulum_pixels_sac_priors_config.py -s 0
# Compare with pendulum_pixels_sac_config.py (from scratch) on the env's own return: evaluator_step/env_reward_mean.
from easydict import EasyDict

pendulum_pixels_sac_priors_config = dict(
    exp_name='pendulum_pixels_sac_priors_seed0',
    env=dict(
        collector_env_num=10,
        evaluator_env_num=5,
        act_scale=True,
        n_evaluator_episode=5,
        stop_value=1000,  # the classifier's return never gets there: runs last their --env-step budget
        obs_type='pixels_state',
        image_size=32,
        # success = the classifier's P(held upright) > 0.5, reward 1 per successful step; the episode goes on
        # (holding it up is the task), so the env's own returns stay comparable with the scratch runs'
        reward_classifier=dict(
            pretrained_path='pendulum_pixels_reward_classifier_seed0/checkpoints/best/pretrained_model',
            success_threshold=0.5,
            success_reward=1.0,
            terminate_on_success=False,
        ),
    ),
    policy=dict(
        cuda=False,
        priority=False,
        random_collect_size=0,  # no random warm-up: the demonstrations fill half of every batch from the start
        model=dict(
            obs_shape={'image': [3, 32, 32], 'state': 3},
            action_shape=1,
            twin_critic=True,
            action_space='reparameterization',
            actor_head_hidden_size=128,
            critic_head_hidden_size=128,
        ),
        # the BC model's convolutions start both conv encoders (actor's and critics')
        bc_pretrain=dict(pretrained_path='pendulum_pixels_bc_seed0/checkpoints/best/pretrained_model', policy_type='bc'),
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
        # the demonstrations, frames and state: half of every batch, and 3,000 updates on them alone before the
        # first env step; their time limits are recorded (next.truncated)
        offline_dataset=dict(root='datasets/pendulum_pixels_expert', ratio=0.5,
                             obs_features=['observation.image', 'observation.state'], pretrain_updates=3000),
    ),
)
pendulum_pixels_sac_priors_config = EasyDict(pendulum_pixels_sac_priors_config)
main_config = pendulum_pixels_sac_priors_config
pendulum_pixels_sac_priors_create_config = dict(
    env=dict(type='pendulum'),
    env_manager=dict(type='base'),
    policy=dict(type='sac'),
)
pendulum_pixels_sac_priors_create_config = EasyDict(pendulum_pixels_sac_priors_create_config)
create_config = pendulum_pixels_sac_priors_create_config
