#!/bin/sh
# fabric.boot smoke test (boot_image smoke_test): dracut sources emergency hooks before its
# emergency shell (rd.shell, the default) and shutdown-emergency hooks instead of it
# (rd.shell=0), for example when DHCP never answered: report FAIL and power off instead of
# waiting at a shell.
[ -x /usr/lib/fabric-boot/smoke ] && /usr/lib/fabric-boot/smoke emergency
