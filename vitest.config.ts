import { defineConfig } from "vitest/config";

// Four suites with their own commands (npm run test:unit | test:integration | test:e2e | test:faults).
// Integration and e2e talk to the real Redis and MariaDB on 127.0.0.1; each test
// makes its own key prefix and database, so files may run in parallel.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 10_000 } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The e2e suite starts real processes; two cores do not take several suites at once.
          fileParallelism: false,
        },
      },
      {
        test: {
          // The fault-injection suite (npm run test:faults): one file, rows run in order
          // against one long-lived topology, several minutes in all.
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
