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
        buffers.append(EpisodeBuffer(id=ep, observations=np.array(observations), actions=np.array(actions),
                                     rewards=rewards, terminations=terms, truncations=truncs))
    minari.create_dataset_from_buffers(dataset_id, buffers, env=env, algorithm_name="linear", author="hpsweep",
                                       author_email="hpsweep@example.org", code_permalink="tests", eval_env=env,
                                       description="tiny test set", data_format="arrow")
    return f"minari:{dataset_id}"
