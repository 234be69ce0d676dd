# Behaviour cloning on pendulum demonstrations recorded from pixels_state (32x32 frames and the state), e.g.
# by bench/bench_priors.py --task pendulum_pixels at datasets/pendulum_pixels_expert. The frame goes through
# three 3x3 stride-2 convolutions (ding_lite.model.pixels.conv_stack), which pixel SAC's conv encoders share:
# dizoo_configs/pendulum_pixels_sac_priors_config.py starts them from this model (policy.bc_pretrain).
# Train:  ding -m bc -c dizoo_configs/pendulum_pixels_bc_config.py -s 0
from easydict import EasyDict

pendulum_pixels_bc_config = dict(
    exp_name='pendulum_pixels_bc_seed0',
    dataset=dict(root='datasets/pendulum_pixels_expert', val_ratio=0.1),
    env=dict(
        collector_env_num=1,
        evaluator_env_num=5,
        act_scale=False,  # the dataset holds torques in N*m, the env's own units
        n_evaluator_episode=5,
        stop_value=-250,
        obs_type='pixels_state',
        image_size=32,
    ),
    policy=dict(
        model=dict(
            obs_features=['observation.image', 'observation.state'],
            action_feature='action',
            hidden_size_list=[256, 256],
        ),
        learn=dict(
            batch_size=128,
            learning_rate=0.001,
            loss='mse',
            val_freq=200,
            learner=dict(train_iterations=2000, hook=dict(save_ckpt_after_iter=1000)),
        ),
    ),
)
pendulum_pixels_bc_config = EasyDict(pendulum_pixels_bc_config)
main_config = pendulum_pixels_bc_config
pendulum_pixels_bc_create_config = dict(
    env=dict(type='pendulum'),
    env_manager=dict(type='base'),
    policy=dict(type='bc'),
)
pendulum_pixels_bc_create_config = EasyDict(pendulum_pixels_bc_create_config)
create_config = pendulum_pixels_bc_create_config
