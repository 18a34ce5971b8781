import BerthTestSupport
import Testing

/// The suite must run inside the test command's sandbox; outside it every kernel test is disabled,
/// and this test fails so a run that skipped them can never look green.
@Test("tests run inside a sandbox network namespace")
func suiteRunsInsideTheSandbox() {
    #expect(Sandbox.isActive, "run the suite with scripts/test.sh (unshare --net --mount)")
}
