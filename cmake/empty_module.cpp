// Placeholder source for a module folder that has no .cpp yet (see src/CMakeLists.txt).
