"""cluster.yaml and docs/cluster-local.yaml: valid for Ray's cluster launcher, and shaped for hpsweep.

Validation is Ray's own: `prepare_config` (merge the provider's defaults, as `ray up` does)
then `validate_config` (ray/autoscaler/ray-schema.json plus Ray's cross-field checks). On
top, our invariants: the head runs no trials, workers bring GPUs, every node installs
hpsweep and names the same shared results location, and the images match this Ray.
"""

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[1]
CLOUD = ROOT / "cluster.yaml"
ON_PREM = ROOT / "docs" / "cluster-local.yaml"
RESULTS_EXPORT = re.compile(r"export HPSWEEP_RESULTS=(\S+?)'?(\s|$)")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def ray_validated(config: dict) -> dict:
    """What `ray up` does to a config before it contacts a cloud; raises if Ray rejects it."""
    full = prepare_config(copy.deepcopy(config))
    validate_config(full)
    return full


def head_problems(config: dict) -> list[str]:
    """Reasons a trial could land on the head, for either provider."""
    full = ray_validated(config)
    if full["provider"]["type"] == "local":
        start = " ".join(full["head_start_ray_commands"])
        return [
            f"head_start_ray_commands must pass {flag} (the head runs no trials)"
            for flag in ("--num-cpus=0", "--num-gpus=0")
            if flag not in start
        ]
    resources = full["available_node_types"][full["head_node_type"]]["resources"]
    return [
        f"head node type must advertise {name}: 0 (the head runs no trials); got {resources}"
        for name in ("CPU", "GPU")
        if resources.get(name) != 0
    ]


def results_locations(commands: list[str]) -> list[str]:
    return [m.group(1) for cmd in commands for m in RESULTS_EXPORT.finditer(cmd)]


def setup_problems(config: dict) -> list[str]:
    """Every node must install hpsweep and see one shared results location."""
    full = ray_validated(config)
    problems = []
    for role in ("head_setup_commands", "worker_setup_commands"):
        commands = full[role]
        if not any("pip install" in c and "hpsweep" in c for c in commands):
            problems.append(f"{role} must pip install hpsweep")
        locations = results_locations(commands)
        if len(locations) != 1:
            problems.append(f"{role} must export HPSWEEP_RESULTS once; got {locations}")
        elif not (locations[0].startswith("s3://") or locations[0].startswith("/mnt/")):
            problems.append(f"{role}: HPSWEEP_RESULTS must be s3://… or a shared mount under /mnt/; got {locations[0]}")
    heads = results_locations(full["head_setup_commands"])
    workers = results_locations(full["worker_setup_commands"])
    if heads != workers:
        problems.append(f"head and workers must share one results location; got {heads} vs {workers}")
    return problems


@pytest.mark.parametrize("path", [CLOUD, ON_PREM], ids=["aws", "local"])
def test_ray_accepts_the_config(path):
    full = ray_validated(load(path))
    assert full["cluster_name"].startswith("hpsweep")


@pytest.mark.parametrize("path", [CLOUD, ON_PREM], ids=["aws", "local"])
def test_head_runs_no_trials(path):
    assert head_problems(load(path)) == []


@pytest.mark.parametrize("path", [CLOUD, ON_PREM], ids=["aws", "local"])
def test_every_node_installs_hpsweep_and_shares_results(path):
    assert setup_problems(load(path)) == []


def test_aws_workers_autoscale_with_gpus():
    full = ray_validated(load(CLOUD))
    workers = {name: node for name, node in full["available_node_types"].items() if name != full["head_node_type"]}
    assert list(workers) == ["ray.worker.gpu"]
    gpu = workers["ray.worker.gpu"]
    assert gpu["resources"]["GPU"] >= 1
    assert gpu["min_workers"] == 0  # no GPU bills while nothing is queued
    assert 1 <= gpu["max_workers"] <= full["max_workers"]
    assert full["idle_timeout_minutes"] > 0


def test_on_prem_workers_keep_their_detected_gpus():
    full = ray_validated(load(ON_PREM))
    assert "--num-gpus" not in " ".join(full["worker_start_ray_commands"])
    assert full["available_node_types"]["local.cluster.node"]["min_workers"] == 2


def test_images_and_pins_match_this_ray():
    """`ray up` needs the same Ray on the laptop and the cluster; a Ray upgrade must bump them."""
    docker = load(CLOUD)["docker"]
    for key in ("head_image", "worker_image"):
        assert docker[key].startswith(f"rayproject/ray:{ray.__version__}-"), docker[key]
    assert docker["worker_image"].endswith("-gpu")
    assert f'pip install -U "ray[default,tune]=={ray.__version__}"' in ON_PREM.read_text()


@pytest.mark.parametrize("path", [CLOUD, ON_PREM], ids=["aws", "local"])
def test_no_credentials_in_the_file(path):
    text = path.read_text()
    assert not re.search(r"AKIA[0-9A-Z]{16}", text)
    assert not re.search(r"(?i)aws_secret_access_key\s*[=:]", text)


# Negative checks: a broken copy must be rejected, so the checks above can fail.


def test_ray_rejects_a_fractional_head_cpu():
    config = load(CLOUD)
    config["available_node_types"]["ray.head.default"]["resources"]["CPU"] = 0.5
    with pytest.raises(jsonschema.ValidationError, match="0.5 is not of type 'integer'"):
        ray_validated(config)


def test_ray_rejects_a_misspelt_top_level_key():
    config = load(CLOUD)
    config["max_worker"] = config.pop("max_workers")
    with pytest.raises(jsonschema.ValidationError, match="'max_worker' was unexpected"):
        ray_validated(config)


def test_ray_rejects_an_unknown_head_node_type():
    config = load(CLOUD)
    config["head_node_type"] = "ray.head.cpu"
    with pytest.raises(ValueError, match="`head_node_type` must be one of `available_node_types`"):
        ray_validated(config)


def test_ray_rejects_worker_ips_as_a_string():
    config = load(ON_PREM)
    config["provider"]["worker_ips"] = "10.0.0.11"
    with pytest.raises(jsonschema.ValidationError, match="'10.0.0.11' is not of type 'array'"):
        ray_validated(config)


def test_a_head_that_advertises_cpus_is_caught():
    config = load(CLOUD)
    config["available_node_types"]["ray.head.default"]["resources"] = {"GPU": 0}
    assert head_problems(config) == ["head node type must advertise CPU: 0 (the head runs no trials); got {'GPU': 0}"]
    local = load(ON_PREM)
    local["head_start_ray_commands"] = ["ray stop", "ray start --head --num-gpus=0"]
    assert head_problems(local) == ["head_start_ray_commands must pass --num-cpus=0 (the head runs no trials)"]


def test_missing_install_and_local_results_are_caught():
    config = load(CLOUD)
    config["worker_setup_commands"] = []
    config["setup_commands"] = ["echo 'export HPSWEEP_RESULTS=./hpsweep-results' >> ~/.bashrc"]
    assert setup_problems(config) == [
        "head_setup_commands: HPSWEEP_RESULTS must be s3://… or a shared mount under /mnt/; got ./hpsweep-results",
        "worker_setup_commands must pip install hpsweep",
        "worker_setup_commands: HPSWEEP_RESULTS must be s3://… or a shared mount under /mnt/; got ./hpsweep-results",
    ]


def test_guide_uses_the_configs_results_location():
    """docs/cluster.md's commands must name the bucket that cluster.yaml exports."""
    guide = (ROOT / "docs" / "cluster.md").read_text()
    (location,) = results_locations(load(CLOUD)["setup_commands"])
    assert location in guide
    for command in (
        "ray up cluster.yaml",
        "--address auto",
        "ray job submit --working-dir .",
        "ray dashboard cluster.yaml",
        "hpsweep status",
        "ray down cluster.yaml",
    ):
        assert command in guide, command


INSTALL = re.compile(r"pip install (?:-e )?(\S+)")


def install_sources(config: dict) -> list[tuple[str, str]]:
    """(role, what pip installs hpsweep from) for the head's and the workers' setup commands."""
    full = ray_validated(config)
    return [
        (role, m.group(1))
        for role in ("head_setup_commands", "worker_setup_commands")
        for cmd in full[role]
        for m in INSTALL.finditer(cmd)
        if "hpsweep" in m.group(1)
    ]


@pytest.mark.parametrize("path", [CLOUD, ON_PREM], ids=["aws", "on-prem"])
def test_every_node_installs_hpsweep_from_a_source_that_exists(path):
    """`hpsweep==0.1.0` is on no package index. Each node installs the checkout that
    file_mounts copies to it; `ray up` runs from the repository root, so "." must be this checkout."""
    config = load(path)
    sources = install_sources(config)
    assert [role for role, _ in sources] == ["head_setup_commands", "worker_setup_commands"]
    for role, source in sources:
        assert source in config["file_mounts"], f"{role} installs {source}, which no file_mounts entry provides"
        local = ROOT / config["file_mounts"][source]
        project = (local / "pyproject.toml").read_text()
        assert re.search(r'^name = "hpsweep"$', project, re.M), f"{local} is not the hpsweep project"
    assert "hpsweep==" not in path.read_text()


def test_an_install_from_the_index_is_caught():
    config = load(CLOUD)
    config["worker_setup_commands"] = ['pip install "hpsweep==0.1.0"']
    sources = install_sources(config)
    assert sources[-1] == ("worker_setup_commands", '"hpsweep==0.1.0"')
    assert sources[-1][1] not in config["file_mounts"]
