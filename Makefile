# fabric.boot test entry points. `make test` is the one command CI runs (see README).
# `make unit` is the fast loop (seconds, no root, no containers).
SHELL := /bin/bash
VENV ?= /opt/fabric-venv
ROOT := $(abspath .)
COLLECTIONS := $(ROOT)/build/collections
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_ROLES_PATH := $(ROOT)/roles
export PYTHONDONTWRITEBYTECODE := 1
# Scenarios stay under molecule/ (Molecule would otherwise ask collections to move them to
# extensions/molecule/ on every run).
export MOLECULE_GLOB := molecule/*/molecule.yml
# pytest's tmp_path directories (pytest-of-<user>/) go under build/, not /tmp: a run leaves /tmp
# as it found it (tests/ci/leftovers.sh). Molecule's testinfra verifiers inherit it.
export PYTEST_DEBUG_TEMPROOT := $(ROOT)/build/tmp
# Molecule scenarios: every directory under molecule/ with a molecule.yml.
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

.PHONY: test unit lint docs-check release-check sanity integration soak molecule collection-link benchmarks changelog release lab lab-down

test: unit lint docs-check release-check sanity integration molecule

collection-link:
	@mkdir -p $(COLLECTIONS)/ansible_collections/fabric $(PYTEST_DEBUG_TEMPROOT)
	@ln -sfn $(ROOT) $(COLLECTIONS)/ansible_collections/fabric/boot

unit: collection-link
	python -m pytest -q -p no:cacheprovider tests/unit

lint: collection-link
	yamllint -s .
	ansible-lint --offline --profile production
	@# ansible-lint installs the project into ~/.ansible/collections; a stale copy there would
	@# shadow this checkout for any ansible command run without ANSIBLE_COLLECTIONS_PATH.
	rm -rf $(HOME)/.ansible/collections/ansible_collections/fabric/boot

# Every role variable in its argument spec and role page, every filter documented; fragments lint.
docs-check:
	python tests/ci/docs_check.py
	antsibull-changelog lint

# Build the release tarball, install it into an empty collections path, ansible-doc everything.
release-check:
	bash tests/ci/release-check.sh

# Cut a release: make release VERSION=0.2.0 (galaxy.yml version, CHANGELOG.md from the fragments).
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z"; exit 2; }
	sed -i 's/^version: .*/version: $(VERSION)/' galaxy.yml
	antsibull-changelog release --version $(VERSION)

sanity:
	bash tests/ci/sanity.sh

# Real daemons, real packets, real kernels: needs root and the packages from tests/ci/apt-packages.sh.
# Includes the fault test (tests/integration/faults, docs/faults.md).
integration: collection-link
	python -m pytest -q -p no:cacheprovider tests/integration

# The fault test alone (docs/faults.md: one live boot-server container, 13 site.yml runs),
# with each step's time printed; `make integration` runs it too.
soak: collection-link
	python -m pytest -q -p no:cacheprovider -s tests/integration/faults

# Scenarios run MOLECULE_JOBS at a time (tests/ci/molecule.sh; default 2), longest first so
# the two queues end together; each scenario's log is build/molecule/<scenario>.log.
MOLECULE_ORDER := http_server dhcp_server tftp_server boot_image boot_loader dhcp_server_kea dhcp_server_dnsmasq fabric_client default
molecule: collection-link
	bash tests/ci/molecule.sh $(filter $(SCENARIOS),$(MOLECULE_ORDER)) $(filter-out $(MOLECULE_ORDER),$(SCENARIOS))

# The lab (docs/lab.md): netns + boot-server container + site.yml + one VM per boot path, then a
# timing table; everything is removed afterwards unless KEEP=1. LAB_ARGS: e.g. --paths uefi-tftp.
# DHCP=kea|dnsmasq: the whole lab on that daemon; DHCP_SWITCH=kea,dnsmasq: switch the live lab to each.
lab: collection-link
	DHCP="$(DHCP)" DHCP_SWITCH="$(DHCP_SWITCH)" PYTHONPATH=$(ROOT)/lab python -m fabric_lab $(LAB_ARGS)

lab-down:
	PYTHONPATH=$(ROOT)/lab python -m fabric_lab down

# Benchmarks write their own sections of docs/performance.md; run them on an idle machine.
# transfer_load.py and diskless_image.py need root: each sets up the lab (docs/lab.md), measures, removes it.
benchmarks: collection-link
	python benchmarks/inventory_scale.py --write docs/performance.md
	python benchmarks/initrd_surgery.py --write docs/performance.md
	python benchmarks/transfer_load.py --write docs/performance.md
	python benchmarks/diskless_image.py --write docs/performance.md
