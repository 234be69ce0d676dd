# ACT on the Reacher-v5 demonstrations (a LeRobot v3.0 dataset, e.g. tests/fixtures/lerobot/reacher_expert),
# the model and training of the ACT that LeRobot 0.4.4's lerobot-train made in that fixture's act_reacher/.
# Needs MuJoCo for play: pip install 'ding_lite[mujoco]'.
# Train:  ding -m bc -c dizoo_configs/reacher_act_config.py -s 0
# Play:   ding -m eval -c dizoo_configs/reacher_act_config.py -s 0 \
#              --load-path reacher_act_seed0/checkpoints/last/pretrained_model
# (or a LeRobot ACT folder, such as the fixture's act_reacher/pretrained_model)
from easydict import EasyDict

reacher_act_config = dict(
    exp_name='reacher_act_seed0',
    dataset=dict(root='datasets/reacher_expert', val_ratio=0.1),
    env=dict(env_id='Reacher-v5', collector_env_num=1, evaluator_env_num=10, n_evaluator_episode=50),
    policy=dict(
        model=dict(
            obs_features=['observation.state', 'observation.environment_state'],
            env_observation={'observation.environment_state': [4, 6]},  # the target's x, y in Reacher's observation
            chunk_size=10,
            n_action_steps=10,
            dim_model=64,
            n_heads=4,
            dim_feedforward=128,
            n_encoder_layers=2,
            n_decoder_layers=1,
            latent_dim=16,
            n_vae_encoder_layers=2,
        ),
        learn=dict(
            batch_size=32,
            learning_rate=0.001,
            val_freq=250,
            learner=dict(train_iterations=1500, hook=dict(save_ckpt_after_iter=500)),
        ),
    ),
)
reacher_act_config = EasyDict(reacher_act_config)
main_config = reacher_act_config
reacher_act_create_config = dict(
    env=dict(type='gymnasium'),
    env_manager=dict(type='base'),
    policy=dict(type='act'),
)
reacher_act_create_config = EasyDict(reacher_act_create_config)
create_config = reacher_act_create_config
