# Behaviour cloning (an MLP) on the Reacher-v5 demonstrations (a LeRobot v3.0 dataset, e.g.
# tests/fixtures/lerobot/reacher_expert). Needs MuJoCo for play: pip install 'ding_lite[mujoco]'.
# Train:  ding -m bc -c dizoo_configs/reacher_bc_config.py -s 0
# Play:   ding -m eval -c dizoo_configs/reacher_bc_config.py -s 0 \
#              --load-path reacher_bc_seed0/checkpoints/best/pretrained_model
from easydict import EasyDict

reacher_bc_config = dict(
    exp_name='reacher_bc_seed0',
    dataset=dict(root='datasets/reacher_expert', val_ratio=0.1),
    env=dict(env_id='Reacher-v5', collector_env_num=1, evaluator_env_num=10, n_evaluator_episode=50),
    policy=dict(
        model=dict(obs_features=['observation.state'], action_feature='action', hidden_size_list=[256, 256]),
        learn=dict(
            batch_size=256,
            learning_rate=0.001,
            loss='mse',
            val_freq=250,
            learner=dict(train_iterations=3000, hook=dict(save_ckpt_after_iter=1000)),
        ),
    ),
)
reacher_bc_config = EasyDict(reacher_bc_config)
main_config = reacher_bc_config
reacher_bc_create_config = dict(
    env=dict(type='gymnasium'),
    env_manager=dict(type='base'),
    policy=dict(type='bc'),
)
reacher_bc_create_config = EasyDict(reacher_bc_create_config)
create_config = reacher_bc_create_config
