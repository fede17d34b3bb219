// Makes dpdk-testpmd (the vhost-user test backend) available before the tests run: the
// installed one, or Debian's packages fetched and unpacked into the cache once.
import { locateTestpmd } from '../test/helpers/testpmd.js';

const found = locateTestpmd();
if (typeof found === 'string') {
  console.error(`vmlaunch test: ${found}`);
  process.exitCode = 1;
} else {
  console.log(`vmlaunch test: dpdk-testpmd from ${found.source}`);
}
