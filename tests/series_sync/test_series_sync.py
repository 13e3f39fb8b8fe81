"""Unit tests of scripts/series-sync.py on copies of the two series
(patches/7.3 and patches/6.12) and their record: as they are, they
differ only as recorded; a change made to one series only fails, with
the changed line in the report; the same change made to both passes;
a patch dropped from one series fails.

Run by make unit:  python3 -m unittest discover -s tests/series_sync
"""

import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, '..', '..')
SCRIPT = os.path.join(TOP, 'scripts', 'series-sync.py')


class SeriesSync(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        for d in ('7.3', '6.12'):
            shutil.copytree(os.path.join(TOP, 'patches', d),
                            os.path.join(self.tmp, d))
        self.record = os.path.join(self.tmp, 'series-sync.txt')
        shutil.copy(os.path.join(TOP, 'patches', 'series-sync.txt'),
                    self.record)

    def sync(self):
        res = subprocess.run([SCRIPT, self.record,
                              os.path.join(self.tmp, '7.3'),
                              os.path.join(self.tmp, '6.12')],
                             capture_output=True, text=True, check=False)
        return res.returncode, res.stdout + res.stderr

    def patch(self, series, subject_word):
        """The path of the first patch of @series whose name has
        @subject_word."""
        d = os.path.join(self.tmp, series)
        with open(os.path.join(d, 'series')) as f:
            for name in f.read().split():
                if subject_word in name:
                    return os.path.join(d, name)
        raise AssertionError(f'no patch with {subject_word} in {series}')

    def edit(self, series, old, new):
        """Replace the first @old of the INVVPID patch of @series."""
        path = self.patch(series, 'Emulate-INVVPID')
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, 'w') as f:
            f.write(text.replace(old, new, 1))

    def test_as_recorded(self):
        rc, out = self.sync()
        self.assertEqual(rc, 0, out)

    def test_change_to_one_series_fails(self):
        self.edit('7.3', 'Only the tag that maps',
                  'Only the one tag that maps')
        rc, out = self.sync()
        self.assertEqual(rc, 1, out)
        self.assertIn('Only the one tag that maps', out)

    def test_change_to_both_passes(self):
        for series in ('7.3', '6.12'):
            self.edit(series, 'Only the tag that maps',
                      'Only the one tag that maps')
        rc, out = self.sync()
        self.assertEqual(rc, 0, out)

    def test_patch_missing_from_one_series_fails(self):
        path = self.patch('6.12', 'Emulate-INVVPID')
        series = os.path.join(self.tmp, '6.12', 'series')
        with open(series) as f:
            names = [n for n in f.read().split()
                     if n != os.path.basename(path)]
        with open(series, 'w') as f:
            f.write('\n'.join(names) + '\n')
        rc, out = self.sync()
        self.assertEqual(rc, 1, out)
        self.assertIn('only in 7.3: KVM: nVMX: Emulate INVVPID', out)


if __name__ == '__main__':
    unittest.main()
