#!/bin/sh
# fabric.boot smoke test (boot_image smoke_test): dracut sources pre-mount hooks after its
# initqueue has finished, i.e. after the network stage configured every rd.neednet interface.
[ -x /usr/lib/fabric-boot/smoke ] && /usr/lib/fabric-boot/smoke pre-mount
