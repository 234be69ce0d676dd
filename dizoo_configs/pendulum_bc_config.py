# Behaviour cloning on recorded pendulum demonstrations (a LeRobot v3.0 dataset).
# Record:  ding record -c dizoo_configs/pendulum_sac_config.py --load-path pendulum_sac_seed0/ckpt/ckpt_best.pth.tar \
#               --episodes 50 --out datasets/pendulum_expert --task "swing up and hold"
# Train:   ding -m bc -c dizoo_configs/pendulum_bc_config.py -s 0
# Play:    ding -m eval -c dizoo_configs/pendulum_bc_config.py -s 0 \
#               --load-path pendulum_bc_seed0/checkpoints/best/pretrained_model
from easydict import EasyDict

pendulum_bc_config = dict(
    exp_name='pendulum_bc_seed0',
    dataset=dict(
        root='datasets/pendulum_expert',
        val_ratio=0.1,  # the last 10 % of the episodes measure the validation loss
    ),
    env=dict(
        collector_env_num=1,
        evaluator_env_num=5,
        act_scale=False,  # the dataset holds torques in N*m, the env's own units
        n_evaluator_episode=5,
        stop_value=-250,
    ),
    policy=dict(
        model=dict(
            obs_features=['observation.state'],
            action_feature='action',
            hidden_size_list=[256, 256],
        ),
        learn=dict(
            batch_size=256,
            learning_rate=0.001,
            loss='mse',
            val_freq=200,
            learner=dict(train_iterations=3000, hook=dict(save_ckpt_after_iter=1000)),
        ),
    ),
)
pendulum_bc_config = EasyDict(pendulum_bc_config)
main_config = pendulum_bc_config
pendulum_bc_create_config = dict(
    env=dict(type='pendulum'),
    env_manager=dict(type='base'),
    policy=dict(type='bc'),
)
pendulum_bc_create_config = EasyDict(pendulum_bc_create_config)
create_config = pendulum_bc_create_config
