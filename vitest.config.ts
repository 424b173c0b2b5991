import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Hang guards, not speed checks: a test that spawns ten processes (CLI runs, python
    // smtplib) took 26 s with two suites sharing the 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real servers and child processes; two workers fit the 2-core CI machine.
    maxWorkers: 2,
  },
});
