/*
 * getOriginalDst(fd) -> { address, port } | null
 *
 * A connection redirected by iptables REDIRECT (nat table) keeps its original destination in
 * conntrack; getsockopt(SOL_IP, SO_ORIGINAL_DST) on the accepted socket reads it. Returns
 * null when the socket was not redirected (ENOENT) or is not IPv4; throws on a bad argument.
 */
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif

static napi_value get_original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  int32_t fd;
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  char text[INET_ADDRSTRLEN];
  napi_value address, port;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "getOriginalDst(fd): fd must be a non-negative integer");
    return NULL;
  }
  memset(&addr, 0, sizeof(addr));
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &addr, &len) != 0 || addr.sin_family != AF_INET) {
    napi_get_null(env, &result);
    return result;
  }
  inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
  napi_create_object(env, &result);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address);
  napi_create_int32(env, ntohs(addr.sin_port), &port);
  napi_set_named_property(env, result, "address", address);
  napi_set_named_property(env, result, "port", port);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "getOriginalDst", NAPI_AUTO_LENGTH, get_original_dst, NULL, &fn);
  napi_set_named_property(env, exports, "getOriginalDst", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
