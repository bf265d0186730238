"""The fabric.boot lab: netns + boot-server container + site.yml + one VM per boot path (docs/lab.md)."""
