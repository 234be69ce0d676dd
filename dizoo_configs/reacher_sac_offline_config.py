# SAC on Reacher-v5 with demonstrations (RLPD / HIL-SERL): reacher_sac_config.py plus an offline buffer
# holding a LeRobot dataset, which every update samples half its batch from (docs/rl_with_priors.md).
# The dataset: copy tests/fixtures/lerobot/reacher_expert to datasets/reacher_expert, or record one with
# `ding record`. Needs MuJoCo: pip install 'ding_lite[mujoco]'.
# Run: ding -m serial -c dizoo_configs/reacher_sac_offline_config.py -s 0
from easydict import EasyDict

reacher_sac_offline_config = dict(
    exp_name='reacher_sac_offline_seed0',
    env=dict(
        env_id='Reacher-v5',
        collector_env_num=8,
        evaluator_env_num=5,
        n_evaluator_episode=10,
        stop_value=-5.0,
    ),
    policy=dict(
        cuda=False,
        random_collect_size=2000,
        model=dict(
            obs_shape=10,
            action_shape=2,
            twin_critic=True,
            action_space='reparameterization',
            actor_head_hidden_size=256,
            critic_head_hidden_size=256,
        ),
        learn=dict(
            update_per_collect=8,
            batch_size=256,
            learning_rate_q=3e-4,
            learning_rate_policy=3e-4,
            learning_rate_alpha=3e-4,
            ignore_done=False,
            target_theta=0.005,
            discount_factor=0.99,
            auto_alpha=True,
        ),
        collect=dict(n_sample=8, ),
        eval=dict(evaluator=dict(eval_freq=500, )),
        other=dict(replay_buffer=dict(replay_buffer_size=100000, ), ),
        offline_dataset=dict(
            root='datasets/reacher_expert',
            episodes=None,
            ratio=0.5,
            obs_features=['observation.state'],
            episode_ends='truncated',  # Reacher's episodes only end at its 50-step limit; LeRobot marks them done
        ),
    ),
)
reacher_sac_offline_config = EasyDict(reacher_sac_offline_config)
main_config = reacher_sac_offline_config
reacher_sac_offline_create_config = dict(
    env=dict(type='gymnasium'),
    env_manager=dict(type='base'),
    policy=dict(type='sac'),
)
reacher_sac_offline_create_config = EasyDict(reacher_sac_offline_create_config)
create_config = reacher_sac_offline_create_config

if __name__ == "__main__":
    # or you can enter `ding -m serial -c reacher_sac_offline_config.py -s 0`
    from ding_lite.entry import serial_pipeline
    serial_pipeline((main_config, create_config), seed=0)
