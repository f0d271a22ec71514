"""A tiny Minari data set built offline from a gymnasium environment, for the tests that need one."""

import numpy as np


def make_pendulum_dataset(dataset_id: str, episodes: int = 20, steps: int = 25) -> str:
    """Pendulum with a linear 'expert' policy (so observation -> action is learnable), arrow format,
    written under $MINARI_DATASETS_PATH (the caller points it at a temporary folder).
    Returns the task name `minari:<dataset_id>`. Needs minari and gymnasium."""
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    env = gym.make("Pendulum-v1", max_episode_steps=steps)
    buffers = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=ep)
        observations, actions, rewards, terms, truncs = [obs], [], [], [], []
        while True:
            action = np.clip(-1.5 * obs[1:2] - 0.3 * obs[2:3], -2.0, 2.0).astype(np.float32)
            obs, reward, term, trunc, _ = env.step(action)
            observations.append(obs), actions.append(action), rewards.append(reward)
            terms.append(term), truncs.append(trunc)
            if term or trunc:
                break
        buffers.append(
            EpisodeBuffer(
                id=ep,
                observations=np.array(observations),
                actions=np.array(actions),
                rewards=rewards,
                terminations=terms,
                truncations=truncs,
            )
        )
    minari.create_dataset_from_buffers(
        dataset_id,
        buffers,
        env=env,
        algorithm_name="linear",
        author="hpsweep",
        author_email="hpsweep@example.org",
        code_permalink="tests",
        eval_env=env,
        description="tiny test set",
        data_format="arrow",
    )
    return f"minari:{dataset_id}"


def make_hammer_dataset(dataset_id: str, episodes: int = 6, steps: int = 20, ref_max_score: float | None = None) -> str:
    """The real AdroitHandHammer-v1 (gymnasium-robotics ships its MuJoCo model; no network), driven by
    a seeded scripted policy (a fixed random linear map of the observation through tanh, so
    observation -> action is learnable) for `episodes` episodes of `steps` steps, recorded with
    Minari's own DataCollector (arrow format) under $MINARI_DATASETS_PATH. With `ref_max_score`
    the data set's metadata carries reference scores, as D4RL's do.
    Returns the task name `minari:<dataset_id>`. Needs minari[create], gymnasium-robotics, mujoco."""
    import gymnasium as gym
    import gymnasium_robotics
    from minari import DataCollector

    gym.register_envs(gymnasium_robotics)
    env = DataCollector(gym.make("AdroitHandHammer-v1", max_episode_steps=steps), data_format="arrow")
    weights = np.random.default_rng(0).normal(0.0, 0.3, (26, 46))
    for ep in range(episodes):
        obs, _ = env.reset(seed=ep)
        done = False
        while not done:
            obs, _, term, trunc, _ = env.step(np.tanh(weights @ obs).astype(np.float32))
            done = term or trunc
    refs = {} if ref_max_score is None else {"ref_min_score": 0.0, "ref_max_score": ref_max_score}
    env.create_dataset(
        dataset_id,
        eval_env=env.env.spec,
        algorithm_name="scripted-linear",
        author="hpsweep",
        author_email="hpsweep@example.org",
        code_permalink="tests",
        description="tiny hammer test set",
        **refs,
    )
    env.close()
    return f"minari:{dataset_id}"
